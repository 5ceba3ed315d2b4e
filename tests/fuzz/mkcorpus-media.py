#!/usr/bin/python3
"""mkcorpus-media.py — writes the seeds of fuzz_png, fuzz_jpeg and fuzz_labels
(tests/fuzz/corpus/<target>/), with the standard library and cjpeg
(libjpeg-turbo-progs).  Run from the repository root; the files are
committed, so this only needs running when the seeds change.

PNG: gray 1/8-bit, gray+alpha, RGB 16-bit, RGBA, palette with tRNS,
Adam7-interlaced.  JPEG: gray, colour baseline, progressive, an EXIF
Orientation 6.  Labels: a table with quotes and comments, and bad ones.
"""
import os
import struct
import subprocess
import tempfile
import zlib

ROOT = "tests/fuzz/corpus"


def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def rows_bytes(w, h, depth, spp, px):
    """Filter-0 scanlines of the samples px(x, y, c)."""
    out = bytearray()
    for y in range(h):
        out.append(0)
        bits = []
        for x in range(w):
            for c in range(spp):
                bits.append(px(x, y, c))
        if depth == 16:
            for v in bits:
                out += struct.pack(">H", v)
        elif depth == 8:
            out += bytes(bits)
        else:
            acc, n = 0, 0
            for v in bits:
                acc = acc << depth | v
                n += depth
                if n == 8:
                    out.append(acc)
                    acc, n = 0, 0
            if n:
                out.append(acc << (8 - n))
    return bytes(out)


def png(w, h, depth, ctype, px, extra=b"", interlace=0):
    spp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    if interlace:
        raw = b""
        for xs, ys, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
                               (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
            pw, ph = len(range(xs, w, dx)), len(range(ys, h, dy))
            if pw and ph:
                raw += rows_bytes(pw, ph, depth, spp,
                                  lambda x, y, c: px(xs + x * dx, ys + y * dy, c))
    else:
        raw = rows_bytes(w, h, depth, spp, px)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def png_seeds():
    v8 = lambda x, y, c: (x * 37 + y * 11 + c * 71) % 256
    return {
        "gray8.png": png(5, 4, 8, 0, v8),
        "gray1.png": png(9, 3, 1, 0, lambda x, y, c: (x + y) & 1),
        "graya8.png": png(3, 3, 8, 4, v8),
        "rgb16.png": png(3, 2, 16, 2, lambda x, y, c: (x * 9000 + y * 300 + c * 77) % 65536),
        "rgba8.png": png(4, 4, 8, 6, v8),
        "palette_trns.png": png(4, 3, 4, 3, lambda x, y, c: (x + 2 * y) % 4,
                                extra=chunk(b"PLTE", bytes(range(12))) + chunk(b"tRNS", b"\x00\x80")),
        "interlaced.png": png(9, 9, 8, 2, v8, interlace=1),
    }


def jpeg_seeds(tmp):
    out = {}
    w, h = 8, 6
    pgm = b"P5 %d %d 255\n" % (w, h) + bytes((x * 30 + y * 7) % 256 for y in range(h) for x in range(w))
    ppm = b"P6 %d %d 255\n" % (w, h) + bytes((x * 30 + y * 7 + c * 50) % 256
                                             for y in range(h) for x in range(w) for c in range(3))
    for name, src, args in (("gray.jpg", pgm, []), ("rgb.jpg", ppm, []),
                            ("progressive.jpg", ppm, ["-progressive"]),
                            ("q20_411.jpg", ppm, ["-quality", "20", "-sample", "2x2"])):
        path = os.path.join(tmp, "in")
        with open(path, "wb") as f:
            f.write(src)
        out[name] = subprocess.run(["cjpeg", *args, path], check=True, capture_output=True).stdout
    # EXIF APP1 with Orientation 6 (big-endian TIFF), right after SOI
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1) + \
        struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + b"\x00\x00\x00\x00"
    app1 = b"Exif\x00\x00" + tiff
    seg = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    out["exif6.jpg"] = out["rgb.jpg"][:2] + seg + out["rgb.jpg"][2:]
    return out


def label_seeds():
    return {
        "ok.csv": b"key,class\n# a comment\nTRAIN/a/1.png,abd\n\"b,2.png\", chest \n"
                  b"\"q\"\"3\",abd,extra\n\r\n1.2.840.1,chest\r\n",
        "dup.csv": b"k,c\na,x\na,y\n",
        "unterminated.csv": b"k,c\n\"a,x\n",
        "header_only.csv": b"key,class\n",
        "one_field.csv": b"k,c\nlonely\n",
    }


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for target, seeds in (("fuzz_png", png_seeds()), ("fuzz_jpeg", jpeg_seeds(tmp)),
                              ("fuzz_labels", label_seeds())):
            os.makedirs(os.path.join(ROOT, target), exist_ok=True)
            for name, data in seeds.items():
                with open(os.path.join(ROOT, target, name), "wb") as f:
                    f.write(data)


if __name__ == "__main__":
    main()
