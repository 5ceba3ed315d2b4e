#!/usr/bin/python3
"""seeds_check.py SEEDS_MD RUNDIR... — checks the numbers of
pipelines/seeds' table against the runs' own streams, read with
python3-msgpack alone (no radpipe code).

For each epoch: mean, sample sd (n-1), min and max over the runs of
val_acc and val_loss (history.mpk); for each run: the first epoch at
val_acc 1, the final val_acc and val_loss, VAL's AUC (Mann-Whitney from
val-predictions.mpk) and the TEST scores (test-predictions.mpk); the
summary lines of final val_loss and of VAL AUC.  The table prints 4 (AUC,
scores: 3) decimals, so a value may differ from the exact one by half a
unit of the last digit; the tolerance adds 1e-6 for peek's 6 significant
digits.  Exit 1 with the first mismatch.
"""
import os
import re
import statistics
import sys

import msgpack


def frames(path):
    with open(path, "rb") as f:
        yield from msgpack.Unpacker(f, raw=False, strict_map_key=False)


def settings(d):
    with open(os.path.join(d, "settings.txt")) as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)


def auc(d):
    pos, neg = [], []
    for fr in frames(os.path.join(d, "val-predictions.mpk")):
        if fr.get("kind") == "prediction":
            (pos if fr["label"] == 1 else neg).append(fr["score"])
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def near(what, shown, exact, decimals):
    tol = 0.5 * 10 ** -decimals + 1e-6
    if shown == "n/a" or abs(float(shown) - exact) > tol:
        sys.exit("seeds_check: %s: the table says %s, the streams give %.8f (tolerance %.1e)"
                 % (what, shown, exact, tol))


def rows(text, header):
    """the cells of the markdown table that follows the line starting with header"""
    lines = text[text.index(header):].splitlines()[2:]
    out = []
    for line in lines:
        if not line.startswith("|"):
            break
        out.append([c.strip() for c in line.strip("|").split("|")])
    return out


def summary_line(text, name):
    m = re.search(r"^- %s: (\S+) ± (\S+) \((\S+) to (\S+)\)" % re.escape(name), text, re.M)
    if not m:
        sys.exit("seeds_check: no summary line for %s" % name)
    return m.groups()


def check_stats(what, shown, values, decimals):
    exact = [statistics.mean(values), statistics.stdev(values), min(values), max(values)]
    for label, s, e in zip(("mean", "sd", "min", "max"), shown, exact):
        near("%s %s" % (what, label), s, e, decimals)


def main():
    md, runs = sys.argv[1], sys.argv[2:]
    text = open(md, encoding="utf-8").read()
    hist = {}
    for d in runs:
        hist[d] = [fr for fr in frames(os.path.join(d, "history.mpk")) if fr.get("kind") == "metrics"]
    epochs = rows(text, "| epoch | seeds |")
    if len(epochs) != max(len(h) for h in hist.values()):
        sys.exit("seeds_check: %d epoch rows for %d epochs" % (len(epochs), max(len(h) for h in hist.values())))
    for row in epochs:
        e = int(row[0])
        acc = [fr["val_acc"] for h in hist.values() for fr in h if fr["epoch"] == e]
        loss = [fr["val_loss"] for h in hist.values() for fr in h if fr["epoch"] == e]
        if int(row[1]) != len(acc):
            sys.exit("seeds_check: epoch %d: %s seeds, expected %d" % (e, row[1], len(acc)))
        check_stats("epoch %d val_acc" % e, row[2:6], acc, 4)
        check_stats("epoch %d val_loss" % e, row[6:10], loss, 4)
    per_seed = {r[0]: r for r in rows(text, "| seed | run |")}
    if sorted(per_seed) != sorted(settings(d)["SEED"] for d in runs):
        sys.exit("seeds_check: seeds %s in the table" % sorted(per_seed))
    finals, aucs = [], []
    for d in runs:
        r = per_seed[settings(d)["SEED"]]
        h = hist[d]
        first = next((str(fr["epoch"]) for fr in h if fr["val_acc"] >= 1), "never")
        if r[2] != first:
            sys.exit("seeds_check: %s: first epoch at val_acc 1 is %s, the table says %s" % (d, first, r[2]))
        near("%s final val_acc" % d, r[3], h[-1]["val_acc"], 4)
        near("%s final val_loss" % d, r[4], h[-1]["val_loss"], 4)
        a = auc(d)
        near("%s VAL AUC" % d, r[5], a, 3)
        for fr in frames(os.path.join(d, "test-predictions.mpk")):
            if fr.get("kind") == "prediction":
                m = re.search(r"%s (\S+)" % re.escape(fr["id"]), r[6])
                near("%s TEST %s" % (d, fr["id"]), m.group(1).rstrip(",") if m else "n/a", fr["score"], 3)
        finals.append(h[-1]["val_loss"])
        aucs.append(a)
    check_stats("summary final val_loss", summary_line(text, "final val_loss"), finals, 4)
    check_stats("summary VAL AUC", summary_line(text, "VAL AUC"), aucs, 3)
    print("seeds_check: %d epochs, %d runs agree" % (len(epochs), len(runs)))


if __name__ == "__main__":
    main()
