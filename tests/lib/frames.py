#!/usr/bin/python3
"""frames.py — radpipe frames for tests (Debian's python3 with python3-msgpack).

  frames.py pack   JSON lines on stdin -> one msgpack frame per line on stdout.
                   A value {"$tensor": {"dtype": "u8", "shape": [h, w, c],
                   "fill": V | "ramp": true | "data": [...]}} becomes a
                   radpipe tensor map {dtype, shape, data: bin}; "NaN" and
                   "Infinity" are read as floats.
  frames.py dump   frames on stdin -> JSON lines on stdout (bin values are
                   shown as {"$bin": length}; non-finite floats as strings).
  frames.py get K  frames on stdin -> the value of key K of every frame that
                   has it, one JSON value per line (K may be a.b for nesting).
"""
import json
import math
import struct
import sys

import msgpack

DTYPES = {"u8": "B", "u16": "H", "i32": "i", "f32": "f"}


def tensor(spec):
    dt, shape = spec["dtype"], spec["shape"]
    n = 1
    for d in shape:
        n *= d
    if "data" in spec:
        vals = spec["data"]
    elif spec.get("ramp"):
        top = 255 if dt == "u8" else 65535 if dt == "u16" else 1
        vals = [(i * 7) % (top + 1) if dt in ("u8", "u16") else i / n for i in range(n)]
    else:
        vals = [spec.get("fill", 0)] * n
    data = struct.pack("<%d%s" % (n, DTYPES[dt]), *vals)
    return {"dtype": dt, "shape": shape, "data": data}


def convert(v):
    if isinstance(v, dict):
        if "$tensor" in v:
            return tensor(v["$tensor"])
        return {k: convert(x) for k, x in v.items()}
    if isinstance(v, list):
        return [convert(x) for x in v]
    return v


def plain(v):
    if isinstance(v, bytes):
        return {"$bin": len(v)}
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {(k.decode() if isinstance(k, bytes) else k): plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def frames():
    return msgpack.Unpacker(sys.stdin.buffer, raw=False, strict_map_key=False)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else "pack"
    out = sys.stdout.buffer
    if cmd == "pack":
        for line in sys.stdin:
            if line.strip():
                out.write(msgpack.packb(convert(json.loads(line)), use_bin_type=True))
    elif cmd == "dump":
        for f in frames():
            print(json.dumps(plain(f)))
    elif cmd == "get":
        for f in frames():
            v = f
            for part in sys.argv[2].split("."):
                v = v.get(part) if isinstance(v, dict) else None
            if v is not None:
                print(json.dumps(plain(v)))
    else:
        sys.exit("frames.py: unknown command " + cmd)


main()
