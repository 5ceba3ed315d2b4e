#!/usr/bin/python3
"""phash_ref.py -- an independent implementation of radpipe's image
fingerprints (libshared/phash.h), for tests: numpy, PIL and scipy (Debian's
python3-numpy, python3-pil, python3-scipy), none of radpipe's code.

Usage: phash_ref.py IMAGE...
Prints, one line per image: the DCT hash as 16 hex digits, the sha256 of
the decoded pixels (dtype name, NUL, each dimension as a 64-bit
little-endian number, the pixel bytes: HWC, little-endian), and the path.

The hash: the mean of the colour channels (alpha ignored), reduced to
32 x 32 by area averaging (here: differences of the running integral of
the image, exact for its piecewise-constant pixels, one axis after the
other; radpipe sums overlap-weighted pixels instead), its 2-D DCT-II
(scipy), and bit 8u+v set when coefficient (u, v) of the 8 x 8 lowest
frequencies is above the median of those 63 that are not (0, 0).  Both
work in doubles, summing in different orders, so a coefficient within
rounding of the median could flip a pair of bits: the tests allow a
distance of 2.
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


def area_reduce(g, axis, out=32):
    """Means of g over out equal cells along axis, by the running integral."""
    g = np.moveaxis(g, axis, 0)
    n = g.shape[0]
    cum = np.concatenate([np.zeros((1,) + g.shape[1:]), np.cumsum(g, axis=0)])
    edges = np.arange(out + 1) * (n / out)
    lo = np.floor(edges).astype(int)
    frac = edges - lo
    nxt = np.minimum(lo + 1, n)
    integral = cum[lo] + frac.reshape((-1,) + (1,) * (g.ndim - 1)) * (cum[nxt] - cum[lo])
    return np.moveaxis((integral[1:] - integral[:-1]) / (n / out), 0, axis)


def dct_hash(a):
    c = a.shape[2]
    g = a[:, :, : (3 if c >= 3 else 1)].astype(np.float64).mean(axis=2)
    small = area_reduce(area_reduce(g, 1), 0)
    d = dct(dct(small, axis=0), axis=1)[:8, :8].ravel()
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
