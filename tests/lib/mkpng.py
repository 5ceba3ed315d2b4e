#!/usr/bin/python3
"""mkpng.py — writes small PNG files for tests, with the standard library only.

  mkpng.py OUT W H [--channels 1|3|4] [--depth 8|16] [--seed S]
                   [--break crc|truncate|signature]

The pixels are a deterministic pattern of (x, y, channel, seed).  --break
writes a damaged file: crc flips a bit of the IHDR CRC, truncate cuts the
file in the middle of its IDAT chunk, signature spoils the first byte.
"""
import argparse
import struct
import zlib


def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def png_bytes(w, h, channels, depth, seed):
    ctype = {1: 0, 3: 2, 4: 6}[channels]
    raw = bytearray()
    for y in range(h):
        raw.append(0)                           # filter: none
        for x in range(w):
            for c in range(channels):
                v = (x * 37 + y * 11 + c * 71 + seed * 13) % 256
                if depth == 16:
                    raw += struct.pack(">H", min(v * 257 + (x & 1), 65535))
                else:
                    raw.append(v)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("w", type=int)
    ap.add_argument("h", type=int)
    ap.add_argument("--channels", type=int, default=1, choices=[1, 3, 4])
    ap.add_argument("--depth", type=int, default=8, choices=[8, 16])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--break", dest="brk", choices=["crc", "truncate", "signature"])
    a = ap.parse_args()
    data = bytearray(png_bytes(a.w, a.h, a.channels, a.depth, a.seed))
    if a.brk == "crc":
        data[29] ^= 0x01                        # IHDR CRC: bytes 29..32
    elif a.brk == "truncate":
        data = data[:33 + 8 + (len(data) - 33 - 8 - 12) // 2]
    elif a.brk == "signature":
        data[0] = 0x88
    with open(a.out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
