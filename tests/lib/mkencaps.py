#!/usr/bin/python3
"""mkencaps.py OUT TS ROWS COLS SAMPLES BITS PHOTOMETRIC FRAMES FRAGMENT...

Writes a minimal DICOM file (explicit VR little endian dataset) whose
PixelData is encapsulated under transfer syntax TS: an empty Basic Offset
Table, then one item per FRAGMENT (a file name, or hex:BYTES).  BITS is
BitsAllocated = BitsStored (HighBit BITS-1), PixelRepresentation 0.
Used to wrap JPEG 2000 codestreams that opj_compress writes, and to build
hostile fragments (tests/cli/data/jpeg-fill-tem.dcm was made by
mkencaps.py OUT 1.2.840.10008.1.2.4.50 8 8 1 8 MONOCHROME2 1 hex:ffd8ffff01ffd9).
"""
import struct
import sys


def el(g, e, vr, val):
    if len(val) % 2:
        val += b"\0" if vr in (b"UI", b"OB") else b" "
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
        return struct.pack("<HH2sHI", g, e, vr, 0, len(val)) + val
    return struct.pack("<HH2sH", g, e, vr, len(val)) + val


def main():
    out, ts, rows, cols, spp, bits, pi, frames = sys.argv[1:9]
    frags = []
    for a in sys.argv[9:]:
        frags.append(bytes.fromhex(a[4:]) if a.startswith("hex:") else open(a, "rb").read())
    sop = b"1.2.840.10008.5.1.4.1.1.7"
    meta = el(2, 1, b"OB", b"\0\1") + el(2, 2, b"UI", sop) + el(2, 3, b"UI", b"1.2.3.4") + \
        el(2, 0x10, b"UI", ts.encode())
    meta = el(2, 0, b"UL", struct.pack("<I", len(meta))) + meta
    us = lambda v: struct.pack("<H", int(v))
    ds = el(8, 0x16, b"UI", sop) + el(8, 0x18, b"UI", b"1.2.3.4") + \
        el(0x28, 2, b"US", us(spp)) + el(0x28, 4, b"CS", pi.encode())
    if int(spp) > 1:
        ds += el(0x28, 6, b"US", us(0))
    ds += el(0x28, 8, b"IS", frames.encode()) + el(0x28, 0x10, b"US", us(rows)) + \
        el(0x28, 0x11, b"US", us(cols)) + el(0x28, 0x100, b"US", us(bits)) + \
        el(0x28, 0x101, b"US", us(bits)) + el(0x28, 0x102, b"US", us(int(bits) - 1)) + \
        el(0x28, 0x103, b"US", us(0))
    px = struct.pack("<HH2sHI", 0x7fe0, 0x10, b"OB", 0, 0xFFFFFFFF) + struct.pack("<HHI", 0xFFFE, 0xE000, 0)
    for f in frags:
        if len(f) % 2:
            f += b"\0"
        px += struct.pack("<HHI", 0xFFFE, 0xE000, len(f)) + f
    px += struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    open(out, "wb").write(b"\0" * 128 + b"DICM" + meta + ds + px)


if __name__ == "__main__":
    main()
