#!/usr/bin/python3
"""mlref.py — multi-label prediction streams and an independent reference
for metrics(1)'s multi-label evaluation (tests only).

  mlref.py gen [--n N] [--k K] [--seed S] [--untrained J] [--one-class J]
               [--unknown F] [--prefix P]        > stream
      N multi-label prediction frames (radpipe-stream(5): id, scores,
      trained, target_names, targets); label J of --untrained has NaN
      scores and trained false, label J of --one-class only 0/-1 targets;
      each target is unknown (-1) with probability F (0.2).  Scores of a
      label j are Gaussian with a mean shifted by the target, rounded to
      1/64 so that ties between the classes occur.
  mlref.py check STREAM EVAL
      Recomputes, for every trained label with both classes among its
      known targets, the AUC and DeLong's 95 % interval straightforwardly
      (O(n_pos n_neg) placement values, variance with n-1 denominators),
      the prevalence, the micro AUC over the pooled known pairs and the
      macro mean, and compares them with the label_metrics and
      multilabel_summary frames of EVAL (metrics -f frames): AUC within
      1e-6, interval bounds within 1e-4; sensitivity and specificity at
      the threshold each label_metrics frame states.  Exits 1 with
      a message on the first mismatch; prints "ok N" (labels checked).
  mlref.py edit STREAM ID J VALUE > stream
      The stream with scores[J] of prediction ID set to VALUE (a float).
"""
import argparse
import math
import random
import sys

import msgpack
from scipy.stats import norm

NAMES = ["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule",
         "Pneumonia", "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis",
         "Pleural_Thickening", "Hernia"]


def read(path):
    with open(path, "rb") as f:
        return list(msgpack.Unpacker(f, raw=False, strict_map_key=False))


def write(frames):
    out = sys.stdout.buffer
    for fr in frames:
        out.write(msgpack.packb(fr, use_bin_type=True))


def gen(a):
    rnd = random.Random(a.seed)
    names = NAMES[:a.k] if a.k <= len(NAMES) else ["label%d" % j for j in range(a.k)]
    frames = []
    for i in range(a.n):
        targets, scores = [], []
        for j in range(a.k):
            t = 1 if rnd.random() < 0.3 + 0.04 * j else 0
            if j == a.one_class:
                t = 0
            if rnd.random() < a.unknown:
                t = -1
            s = 1 / (1 + math.exp(-(rnd.gauss(0, 1) + (1.2 if t == 1 else 0) - 0.5)))
            scores.append(float("nan") if j == a.untrained else round(s * 64) / 64)
            targets.append(t)
        frames.append({"kind": "prediction", "id": "%s%04d.png" % (a.prefix, i),
                       "scores": scores, "trained": [j != a.untrained for j in range(a.k)],
                       "target_names": names, "targets": targets})
    write(frames)


def delong(pos, neg):
    """AUC and DeLong's standard error from placement values."""
    m, n = len(pos), len(neg)
    psi = lambda x, y: 1.0 if x > y else 0.5 if x == y else 0.0
    v10 = [sum(psi(x, y) for y in neg) / n for x in pos]
    v01 = [sum(psi(x, y) for x in pos) / m for y in neg]
    auc = sum(v10) / m
    var = lambda v: sum((u - sum(v) / len(v)) ** 2 for u in v) / (len(v) - 1) if len(v) > 1 else 0
    return auc, math.sqrt(var(v10) / m + var(v01) / n)


def columns(frames, j):
    pos = [f["scores"][j] for f in frames if f["targets"][j] == 1]
    neg = [f["scores"][j] for f in frames if f["targets"][j] == 0]
    return pos, neg


def near(what, got, want, tol):
    if got is None or abs(got - want) > tol:
        sys.exit("mlref: %s: metrics %r, reference %r (tolerance %g)" % (what, got, want, tol))


def check(a):
    preds = [f for f in read(a.stream) if f.get("kind") == "prediction"]
    ev = read(a.eval)
    labels = {f["label"]: f for f in ev if f.get("kind") == "label_metrics"}
    summ = [f for f in ev if f.get("kind") == "multilabel_summary"][0]
    names, z = preds[0]["target_names"], norm.ppf(0.975)
    aucs, ppool, npool, checked = [], [], [], 0
    for j, name in enumerate(names):
        got = labels[name]
        pos, neg = columns(preds, j)
        near(name + " n_known", got["n_known"], len(pos) + len(neg), 0)
        if not preds[0]["trained"][j]:
            assert got["status"] == "not-trained", got["status"]
            continue
        if not pos or not neg:
            assert got["status"] == "one-class", got["status"]
            assert math.isnan(got["auc"])
            continue
        auc, se = delong(pos, neg)
        assert 0 < auc < 1, "the reference covers DeLong's interval only"
        near(name + " auc", got["auc"], auc, 1e-6)
        near(name + " auc_ci[0]", got["auc_ci"][0], max(0.0, auc - z * se), 1e-4)
        near(name + " auc_ci[1]", got["auc_ci"][1], min(1.0, auc + z * se), 1e-4)
        near(name + " prevalence", got["prevalence"], len(pos) / (len(pos) + len(neg)), 1e-12)
        t = got["threshold"]
        near(name + " sensitivity", got["sensitivity"], sum(s >= t for s in pos) / len(pos), 1e-12)
        near(name + " specificity", got["specificity"], sum(s < t for s in neg) / len(neg), 1e-12)
        aucs.append(auc)
        ppool += pos
        npool += neg
        checked += 1
    near("macro_auc", summ["macro_auc"], sum(aucs) / len(aucs), 1e-6)
    micro, se = delong(ppool, npool)
    near("micro_auc", summ["micro_auc"], micro, 1e-6)
    near("micro_auc_ci[0]", summ["micro_auc_ci"][0], max(0.0, micro - z * se), 1e-4)
    near("micro_auc_ci[1]", summ["micro_auc_ci"][1], min(1.0, micro + z * se), 1e-4)
    print("ok", checked)


def edit(a):
    frames = read(a.stream)
    for f in frames:
        if f.get("id") == a.id:
            f["scores"][a.j] = a.value
    write(frames)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--n", type=int, default=200)
    g.add_argument("--k", type=int, default=5)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--untrained", type=int, default=-1)
    g.add_argument("--one-class", type=int, default=-1)
    g.add_argument("--unknown", type=float, default=0.2)
    g.add_argument("--prefix", default="img")
    c = sub.add_parser("check")
    c.add_argument("stream")
    c.add_argument("eval")
    e = sub.add_parser("edit")
    e.add_argument("stream")
    e.add_argument("id")
    e.add_argument("j", type=int)
    e.add_argument("value", type=float)
    a = p.parse_args()
    {"gen": gen, "check": check, "edit": edit}[a.cmd](a)


if __name__ == "__main__":
    main()
