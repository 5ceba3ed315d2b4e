#!/usr/bin/python3
"""check_calibration.py — metrics(1)'s calibration frames against numpy.

  check_calibration.py PREDICTIONS METRICS_FRAMES M

Recomputes from the prediction frames of PREDICTIONS (score, label 1 =
positive), independently of radpipe's C code and from the definitions in
radpipe-stream(5), the equal-width and equal-mass bins of M bins (edges,
counts, mean score, fraction positive and its 95% Wilson interval), ECE,
MCE and the Brier decomposition BS = REL - RES + UNC + WBV - WBC, and
compares them with the calibration frames in METRICS_FRAMES: every number
within 1e-12 relative (1e-15 absolute near 0), counts exactly.  Prints one
line per binning; exit 1 with the differences otherwise.
"""
import math
import sys

import msgpack
import numpy as np

Z = 1.959963984540054           # the 0.975 quantile of the standard normal
REL, ABS = 1e-12, 1e-15


def frames(path):
    with open(path, "rb") as f:
        return list(msgpack.Unpacker(f, raw=False, strict_map_key=False))


def wilson(k, n):
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def width_bins(s, m):
    edges = np.arange(m + 1, dtype=np.float64) / m
    b = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, m - 1)
    return [np.flatnonzero(b == i) for i in range(m)], edges


def mass_bins(s, m):
    order = np.argsort(s, kind="stable")
    ss, n, cuts, prev = s[order], len(s), [0], 0
    for b in range(1, m):
        c = max(b * n // m, prev)
        while 0 < c < n and ss[c] == ss[c - 1]:
            c += 1
        cuts.append(c)
        prev = c
    cuts.append(n)
    return [order[a:z] for a, z in zip(cuts, cuts[1:]) if z > a]


def expected(s, y, m, mass):
    n, o = len(s), y.mean()
    if mass:
        groups = mass_bins(s, m)
        lo = [s[g].min() for g in groups]
        hi = [s[g].max() for g in groups]
    else:
        groups, edges = width_bins(s, m)
        lo, hi = list(edges[:-1]), list(edges[1:])
    e = {"n": n, "n_pos": int(y.sum()), "nbins": len(groups), "bin_lo": lo, "bin_hi": hi,
         "bin_n": [], "bin_n_pos": [], "bin_score": [], "bin_frac": [], "bin_frac_lo": [],
         "bin_frac_hi": []}
    ece = mce = rel = res = wbv = wbc = 0.0
    for g in groups:
        e["bin_n"].append(len(g))
        e["bin_n_pos"].append(int(y[g].sum()))
        if len(g) == 0:
            for k in ("bin_score", "bin_frac", "bin_frac_lo", "bin_frac_hi"):
                e[k].append(float("nan"))
            continue
        f, ob = s[g].mean(), y[g].mean()
        lo_, hi_ = wilson(y[g].sum(), len(g))
        e["bin_score"].append(f), e["bin_frac"].append(ob)
        e["bin_frac_lo"].append(lo_), e["bin_frac_hi"].append(hi_)
        ece += len(g) / n * abs(ob - f)
        mce = max(mce, abs(ob - f))
        rel += len(g) * (f - ob) ** 2 / n
        res += len(g) * (ob - o) ** 2 / n
        wbv += ((s[g] - f) ** 2).sum() / n
        wbc += 2 * ((y[g] - ob) * (s[g] - f)).sum() / n
    e.update(ece=ece, mce=mce, brier=((s - y) ** 2).mean(), reliability=rel, resolution=res,
             uncertainty=o * (1 - o), within_bin_variance=wbv, within_bin_covariance=wbc)
    return e


def close(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return abs(a - b) <= max(REL * max(abs(a), abs(b)), ABS)


def compare(e, fr, what):
    bad = []
    for k, v in e.items():
        got = fr.get(k)
        if isinstance(v, list):
            if not isinstance(got, list) or len(got) != len(v):
                bad.append("%s: %s has %r, expected %d values" % (what, k, got, len(v)))
                continue
            bad += ["%s: %s[%d] = %r, expected %r" % (what, k, i, g, x)
                    for i, (x, g) in enumerate(zip(v, got)) if not close(float(x), float(g))]
        elif not close(float(v), float(got)):
            bad.append("%s: %s = %r, expected %r" % (what, k, got, v))
    # the decomposition adds up to the Brier score
    parts = fr["reliability"] - fr["resolution"] + fr["uncertainty"] + \
        fr["within_bin_variance"] - fr["within_bin_covariance"]
    if not close(parts, fr["brier"]) and abs(parts - fr["brier"]) > 1e-14:
        bad.append("%s: REL - RES + UNC + WBV - WBC = %r, Brier %r" % (what, parts, fr["brier"]))
    return bad


def main():
    preds = [f for f in frames(sys.argv[1]) if f.get("kind") == "prediction"]
    m = int(sys.argv[3])
    s = np.array([float(f["score"]) for f in preds])
    y = np.array([1.0 if f["label"] == 1 else 0.0 for f in preds])
    cal = {f["binning"]: f for f in frames(sys.argv[2]) if f.get("kind") == "calibration"}
    bad = []
    for name, mass in (("width", 0), ("mass", 1)):
        if name not in cal:
            sys.exit("no calibration frame with binning %s" % name)
        if cal[name]["bins"] != m:
            bad.append("%s: bins = %r, expected %d" % (name, cal[name]["bins"], m))
        bad += compare(expected(s, y, m, mass), cal[name], name)
        print("%s: %d bins, ECE %.17g" % (name, cal[name]["nbins"], cal[name]["ece"]))
    if bad:
        sys.exit("\n".join(bad[:40]))


main()
