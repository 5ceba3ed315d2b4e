#!/usr/bin/python3
"""augment_scipy_check.py IN OUT [--min-equal F] [--max-diff D]

Checks augment(1) against the Keras reference computation: for every sample
of IN and the matching sample of OUT, applies
scipy.ndimage.affine_transform(channel, M[:2,:2], M[:2,2], order, mode) with
the matrix M that augment recorded in OUT's last meta.augment entry (order 0
for nearest, 1 for bilinear; 'nearest' fill as in Keras), then the recorded
flips, rounds half away from zero and clamps, and compares with OUT's pixels.
Prints the fraction of equal pixels and the largest absolute difference;
exits 1 if the fraction is below --min-equal or the difference above
--max-diff.  Needs python3-scipy.
"""
import argparse
import sys

import numpy as np
from scipy import ndimage

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mkframes import array, read_frames  # noqa: E402

MODES = {"nearest": "nearest", "reflect": "reflect", "wrap": "grid-wrap",
         "constant": "grid-constant"}


def reference(x, e):
    m = np.array(e["matrix"], dtype=np.float64).reshape(3, 3)
    order = 0 if e["interp"] == "nearest" else 1
    chans = [ndimage.affine_transform(x[:, :, k].astype(np.float64), m[:2, :2], m[:2, 2],
                                      order=order, mode=MODES[e["fill"]], cval=e["cval"])
             for k in range(x.shape[2])]
    y = np.stack(chans, axis=2)
    if e["hflip"]:
        y = y[:, ::-1, :]
    if e["vflip"]:
        y = y[::-1, :, :]
    if x.dtype.kind == "f":
        return y.astype(x.dtype)
    top = np.iinfo(x.dtype).max
    return np.floor(np.clip(y, 0, top) + 0.5).astype(x.dtype)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--min-equal", type=float, default=0.999)
    ap.add_argument("--max-diff", type=float, default=1.0)
    a = ap.parse_args()
    equal = total = 0
    worst = 0.0
    with open(a.inp, "rb") as fi, open(a.out, "rb") as fo:
        outs = [f for f in read_frames(fo) if f["kind"] == "sample"]
        ins = [f for f in read_frames(fi) if f["kind"] == "sample"]
    if len(ins) != len(outs) or not ins:
        sys.exit("augment_scipy_check: %d input samples, %d output samples" % (len(ins), len(outs)))
    for fi, fo in zip(ins, outs):
        x, y = array(fi["x"]), array(fo["x"])
        ref = reference(x, fo["meta"]["augment"][-1])
        d = np.abs(ref.astype(np.float64) - y.astype(np.float64))
        equal += int(np.count_nonzero(d == 0))
        total += d.size
        worst = max(worst, float(d.max()))
    frac = equal / total
    print("samples %d  equal %.6f  max|diff| %g" % (len(ins), frac, worst))
    if frac < a.min_equal or worst > a.max_diff:
        print("augment_scipy_check: FAIL (need equal >= %g, max|diff| <= %g)"
              % (a.min_equal, a.max_diff), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
