#!/usr/bin/env python3
"""param_diff.py A B TOL [SKIP...]: compares the param frames of two radpipe model
files (an independent reader: msgpack + numpy).  Prints the largest
difference relative to each tensor's largest magnitude; exits 1 when it is
above TOL or when the two files do not hold the same parameters.  SKIP:
names left out of the comparison (say why where it is used)."""
import sys
import msgpack
import numpy as np


def params(path):
    out = {}
    for f in msgpack.Unpacker(open(path, "rb"), raw=False):
        if f.get("kind") == "param":
            out[f["name"]] = np.frombuffer(f["x"]["data"], dtype="<f4").astype(np.float64)
    return out


a, b, tol = params(sys.argv[1]), params(sys.argv[2]), float(sys.argv[3])
for k in sys.argv[4:]:
    a.pop(k), b.pop(k)
if not a or a.keys() != b.keys():
    sys.exit(f"{sys.argv[1]} and {sys.argv[2]}: not the same parameters")
worst, name = 0.0, ""
for k in a:
    d = np.abs(a[k] - b[k]).max() / max(np.abs(a[k]).max(), 1e-30)
    if d > worst:
        worst, name = d, k
print(f"{len(a)} params, largest relative difference {worst:.3g} ({name or '-'})")
sys.exit(0 if worst <= tol else 1)
