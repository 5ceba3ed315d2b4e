#!/usr/bin/python3
"""mkset.py — writes a synthetic data set of N small PNG images, fast, for
the data-set-scale test and benchmark (tests/cli/scale.bats,
bench/bench-scale.sh).  Standard library only.

  mkset.py DIR N [--size S]

DIR/a/ and DIR/b/ get the images, alternately (image i in a/ when i is even),
named a/000000.png ...  Each is S x S gray (default 32): class a darker on
the left, class b on the right, plus noise, so that a network can learn
something.  Images repeat every 512 (the contents, not the names), which
keeps the writing at disk speed.
"""
import argparse
import os
import random
import struct
import zlib


def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def png(size, cls, rng):
    raw = bytearray()
    for y in range(size):
        raw.append(0)
        for x in range(size):
            left = x < size // 2
            base = 60 if left == (cls == 0) else 180
            raw.append(max(0, min(255, base + rng.randint(-50, 50))))
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(bytes(raw), 1)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("n", type=int)
    ap.add_argument("--size", type=int, default=32)
    a = ap.parse_args()
    rng = random.Random(1)
    variants = [[png(a.size, c, rng) for _ in range(256)] for c in (0, 1)]
    for c in "ab":
        os.makedirs(os.path.join(a.dir, c), exist_ok=True)
    for i in range(a.n):
        c = i % 2
        with open(os.path.join(a.dir, "ab"[c], "%06d.png" % i), "wb") as f:
            f.write(variants[c][(i // 2) % 256])


if __name__ == "__main__":
    main()
