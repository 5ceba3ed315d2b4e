#!/usr/bin/python3
"""mkframes.py — make and inspect radpipe streams for tests (radpipe-stream(5)).

  mkframes.py samples [--n N] [--h H] [--w W] [--c C] [--dtype u8|u16|i32|f32]
                      [--epochs E] [--seed S] [--pattern random|gradient|zero]
                      [--prefix P] [--meta JSON]          > stream
      N sample frames per epoch (ids P/000.png ...; label = i % 2), preceded
      by an epoch frame each when --epochs is given.
  mkframes.py batch [sample options] > stream   the samples as one batch frame
  mkframes.py frame JSON > stream      one frame from a JSON object
  mkframes.py pack < jsonl > stream    one frame per JSON line of stdin
      In frame and pack, a value {"$tensor": {"dtype": "u8", "shape": [h, w, c],
      "fill": V | "ramp": true | "data": [...]}} becomes a radpipe tensor map
      {dtype, shape, data: bin}; "NaN" and "Infinity" are read as floats.
  mkframes.py dump < stream            one JSON line per frame; tensors shown
                                       as {dtype, shape, sha256}
  mkframes.py get K < stream           the value of key K of every frame that
                                       has it, one JSON value per line (K may
                                       be a.b for nesting)
  mkframes.py slice START [END] < stream   frames START..END-1, bytes unchanged
  mkframes.py count < stream           the number of frames

In dump and get, other bytes are shown as "<N bytes>" and non-finite floats
as strings.  Used as a module: read_frames(f), write_frame(f, obj),
tensor(array), array(tensor_map), tensor_from_spec(spec).  Needs
python3-msgpack; samples, batch and the array functions need python3-numpy.
"""
import argparse
import hashlib
import json
import math
import struct
import sys

import msgpack

try:
    import numpy as np
except ImportError:         # frame, pack, dump, get, slice and count work without it
    np = None

DTYPES = {"u8": "<u1", "u16": "<u2", "i32": "<i4", "f32": "<f4"}   # numpy
PACK_CODES = {"u8": "B", "u16": "H", "i32": "i", "f32": "f"}         # struct


def tensor(a):
    """numpy array -> radpipe tensor map."""
    dt = np.dtype(a.dtype)
    name = {("u", 1): "u8", ("u", 2): "u16", ("i", 4): "i32", ("f", 4): "f32"}[(dt.kind, dt.itemsize)]
    return {"dtype": name, "shape": list(a.shape),
            "data": np.ascontiguousarray(a, dtype=DTYPES[name]).tobytes()}


def array(t):
    """radpipe tensor map -> numpy array (a copy)."""
    return np.frombuffer(t["data"], dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).copy()


def tensor_from_spec(spec):
    """{"dtype", "shape", and "data": [...], "ramp": true or "fill": V}
    -> radpipe tensor map (no numpy needed)."""
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
    data = struct.pack("<%d%s" % (n, PACK_CODES[dt]), *vals)
    return {"dtype": dt, "shape": shape, "data": data}


def from_json(v):
    """A decoded JSON value with its {"$tensor": spec} values made tensors."""
    if isinstance(v, dict):
        if "$tensor" in v:
            return tensor_from_spec(v["$tensor"])
        return {k: from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_json(x) for x in v]
    return v


def read_frames(f):
    """Yields each frame (a dict) of the binary stream f."""
    yield from msgpack.Unpacker(f, raw=False, strict_map_key=False, max_buffer_size=1 << 31)


def write_frame(f, obj):
    f.write(msgpack.packb(obj, use_bin_type=True))


def image(rng, h, w, c, dtype, pattern):
    top = {"u8": 255, "u16": 65535, "i32": 1000, "f32": 1.0}[dtype]
    if pattern == "zero":
        return np.zeros((h, w, c), DTYPES[dtype])
    if pattern == "gradient":
        y, x = np.mgrid[0:h, 0:w]
        g = (y * 3 + x * 5) % (int(top) + 1 if dtype != "f32" else 256)
        a = np.repeat(g[:, :, None], c, axis=2).astype(np.float64)
        a += np.arange(c) * 7
        return (a % (top + 1) if dtype != "f32" else a / 255.0).astype(DTYPES[dtype])
    if dtype == "f32":
        return rng.random((h, w, c)).astype("<f4")
    return rng.integers(0, top + 1, (h, w, c)).astype(DTYPES[dtype])


def samples(args):
    rng = np.random.default_rng(args.seed)
    meta = json.loads(args.meta) if args.meta else None
    for i in range(args.n):
        fr = {"kind": "sample", "id": "%s/%03d.png" % (args.prefix, i), "label": i % 2,
              "class": ("chest", "abdomen")[i % 2],
              "x": tensor(image(rng, args.h, args.w, args.c, args.dtype, args.pattern))}
        if meta is not None:
            fr["meta"] = meta
        yield fr


def summarize(v):
    """A frame value as JSON can show it (see dump and get)."""
    if isinstance(v, dict):
        if set(v) == {"dtype", "shape", "data"} and isinstance(v["data"], bytes):
            return {"dtype": v["dtype"], "shape": v["shape"],
                    "sha256": hashlib.sha256(v["data"]).hexdigest()[:16]}
        return {(k.decode() if isinstance(k, bytes) else k): summarize(x) for k, x in v.items()}
    if isinstance(v, list):
        return [summarize(x) for x in v]
    if isinstance(v, bytes):
        return "<%d bytes>" % len(v)
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def slice_or_count(args, out):
    data = sys.stdin.buffer.read()
    u = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=len(data) + 1)
    u.feed(data)
    offsets = [0]
    for _ in u:
        offsets.append(u.tell())
    n = len(offsets) - 1
    if args.cmd == "count":
        print(n)
        return
    start = min(int(args.arg), n)
    end = n if args.end is None else max(start, min(args.end, n))
    out.write(data[offsets[start]:offsets[end]])


def get(key):
    for fr in read_frames(sys.stdin.buffer):
        v = fr
        for part in key.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        if v is not None:
            print(json.dumps(summarize(v)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cmd", choices=["samples", "batch", "frame", "pack", "dump", "get", "slice", "count"])
    ap.add_argument("arg", nargs="?", help="frame: JSON; get: KEY; slice: START")
    ap.add_argument("end", nargs="?", type=int)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--h", type=int, default=8)
    ap.add_argument("--w", type=int, default=8)
    ap.add_argument("--c", type=int, default=3)
    ap.add_argument("--dtype", default="u8", choices=list(DTYPES))
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pattern", default="random", choices=["random", "gradient", "zero"])
    ap.add_argument("--prefix", default="cls")
    ap.add_argument("--meta")
    args = ap.parse_args()
    out = sys.stdout.buffer
    if args.cmd in ("samples", "batch") and np is None:
        sys.exit("mkframes.py: %s needs python3-numpy" % args.cmd)
    if args.cmd in ("slice", "count"):
        slice_or_count(args, out)
    elif args.cmd == "dump":
        for fr in read_frames(sys.stdin.buffer):
            print(json.dumps(summarize(fr), sort_keys=False))
    elif args.cmd == "get":
        get(args.arg)
    elif args.cmd == "frame":
        write_frame(out, from_json(json.loads(args.arg)))
    elif args.cmd == "pack":
        for line in sys.stdin:
            if line.strip():
                write_frame(out, from_json(json.loads(line)))
    elif args.cmd == "batch":
        s = list(samples(args))
        write_frame(out, {"kind": "batch", "ids": [f["id"] for f in s],
                          "labels": [f["label"] for f in s], "classes": [f["class"] for f in s],
                          "x": tensor(np.stack([array(f["x"]) for f in s]))})
    else:
        for e in range(max(args.epochs, 1)):
            if args.epochs:
                write_frame(out, {"kind": "epoch", "index": e, "count": args.epochs})
            for fr in samples(args):
                write_frame(out, fr)


if __name__ == "__main__":
    main()
