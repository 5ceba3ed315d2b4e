#!/usr/bin/env python3
"""model_edit.py - damage or edit radpipe model files for the tests, and
check their checksums independently of the C reader (radpipe-stream(5)).

  model_edit.py verify FILE
      every param/moment frame has a sha256 key equal to SHA-256 of
      label NUL dims NUL data (label: name, or "m:"/"v:" name for moments);
      prints the number of frames checked
  model_edit.py flip IN OUT NAME [param|moment]
      flips one bit of one byte in the middle of that frame's tensor data,
      leaving everything else (its sha256 too) as it was
  model_edit.py set IN OUT NAME VALUE[,VALUE...]
      sets the elements of param NAME to the values, cycled (nan, inf,
      3e38 ...), and writes a correct sha256 for the new data
  model_edit.py strip IN OUT
      removes the sha256 keys (a file as written before checksums)
"""
import hashlib
import struct
import sys

import msgpack


def frames(path):
    with open(path, "rb") as fp:
        return list(msgpack.Unpacker(fp, raw=False, max_buffer_size=1 << 31))


def write(path, fs):
    with open(path, "wb") as fp:
        for f in fs:
            fp.write(msgpack.packb(f, use_bin_type=True))


def digest(f):
    label = f["name"] if f["kind"] == "param" else f["which"] + ":" + f["name"]
    dims = ",".join(str(d) for d in f["x"]["shape"])
    return hashlib.sha256(label.encode() + b"\0" + dims.encode() + b"\0" + f["x"]["data"]).hexdigest()


def tensors(fs):
    return [f for f in fs if f.get("kind") in ("param", "moment")]


def main(argv):
    cmd = argv[1]
    if cmd == "verify":
        ts = tensors(frames(argv[2]))
        bad = [f["name"] for f in ts if f.get("sha256") != digest(f)]
        if bad:
            sys.exit("checksum mismatch: %s" % bad[:5])
        print(len(ts))
    elif cmd == "flip":
        src, dst, name = argv[2:5]
        kind = argv[5] if len(argv) > 5 else "param"
        raw = bytearray(open(src, "rb").read())
        u = msgpack.Unpacker(raw=False, max_buffer_size=1 << 31)
        u.feed(bytes(raw))
        pos = 0
        for f in u:
            end = u.tell()
            if f.get("kind") == kind and f.get("name") == name:
                data = f["x"]["data"]
                at = bytes(raw[pos:end]).find(data)
                raw[pos + at + len(data) // 2] ^= 0x10
                open(dst, "wb").write(raw)
                return
            pos = end
        sys.exit("no %s frame named %s" % (kind, name))
    elif cmd == "set":
        src, dst, name, values = argv[2:6]
        vals = [float(v) for v in values.split(",")]
        fs = frames(src)
        for f in fs:
            if f.get("kind") == "param" and f.get("name") == name:
                n = len(f["x"]["data"]) // 4
                f["x"]["data"] = struct.pack("<%df" % n, *(vals[i % len(vals)] for i in range(n)))
                f["sha256"] = digest(f)
        write(dst, fs)
    elif cmd == "strip":
        fs = frames(argv[2])
        for f in fs:
            f.pop("sha256", None)
        write(argv[3], fs)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
