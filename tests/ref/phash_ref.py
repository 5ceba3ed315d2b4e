#!/usr/bin/python3
"""phash_ref.py -- an independent implementation of radpipe's image
fingerprints (libshared/phash.h), for tests: numpy, PIL and scipy (Debian's
python3-numpy, python3-pil, python3-scipy), none of radpipe's code.

Usage: phash_ref.py IMAGE...
Prints, one line per image: the DCT hash as 16 hex digits, the sha256 of
the decoded pixels (dtype name, NUL, each dimension as a 64-bit
little-endian number, the pixel bytes: HWC, little-endian), and the path.

The hash: the mean of the colour channels (alpha ignored) as a 32-bit
float image, reduced to 32 x 32 by PIL's BOX filter (area weights), its
2-D DCT-II (scipy), and bit 8u+v set when coefficient (u, v) of the 8 x 8
lowest frequencies is above the median of those 63 that are not (0, 0).
PIL works in 32-bit floats where radpipe works in doubles, so a bit whose
coefficient lies at the median may differ: the tests allow a distance of 2.
"""
import hashlib
import struct
import sys

import numpy as np
from PIL import Image
from scipy.fft import dct


def pixels(path):
    im = Image.open(path)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im).astype("<u2")
        return a[:, :, None], "u16"
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode == "LA":
        pass
    elif im.mode not in ("L", "RGB", "RGBA"):
        im = im.convert("RGB")
    a = np.asarray(im).astype(np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    return a, "u8"


def digest(a, dtype):
    h = hashlib.sha256()
    h.update(dtype.encode() + b"\0")
    for d in a.shape:
        h.update(struct.pack("<Q", d))
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def dct_hash(a):
    c = a.shape[2]
    g = a[:, :, : (3 if c >= 3 else 1)].astype(np.float64).mean(axis=2)
    small = Image.fromarray(g.astype(np.float32), mode="F").resize((32, 32), Image.BOX)
    d = dct(dct(np.asarray(small, dtype=np.float64), axis=0), axis=1)[:8, :8].ravel()
    median = np.sort(d[1:])[31]
    h = 0
    for i in range(1, 64):
        if d[i] > median:
            h |= 1 << i
    return h


def main(paths):
    for p in paths:
        a, dt = pixels(p)
        print("%016x %s %s" % (dct_hash(a), digest(a, dt), p))


if __name__ == "__main__":
    main(sys.argv[1:])
