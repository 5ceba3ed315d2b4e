#!/usr/bin/python3
"""mkmultilabel.py — a synthetic multi-label data set for the multi-label
tests (tests/cli/multilabel.bats).

  mkmultilabel.py DIR N [--size S] [--seed K] [--unknown F]

Writes DIR/img/000000.png ... (S x S gray, default 32: noise around 100)
and DIR/targets.csv, one column per label: id,disc,bar,cross,never.
Each of disc (a bright disc), bar (a bright vertical bar) and cross (a
bright diagonal cross) is drawn independently with probability 1/2 at a
random place; the column is 1 when drawn, 0 when not.  For a fraction F
(default 0.25) of the images one of the three labels, chosen at random, is
left empty (unknown), and the column "never" is empty for every image (a
label no image is annotated for).  The truth, unknown cells included, goes
to DIR/truth.csv.  numpy and PIL (Debian's python3-numpy, python3-pil).
"""
import argparse
import os

import numpy as np
from PIL import Image

LABELS = ("disc", "bar", "cross")


def draw(img, rng, which):
    s = img.shape[0]
    yy, xx = np.mgrid[0:s, 0:s]
    if which == "disc":
        cy, cx = rng.integers(6, s - 6, 2)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 <= 25] = 230
    elif which == "bar":
        cx = rng.integers(3, s - 3)
        img[:, cx - 1:cx + 2] = 230
    else:
        c = rng.integers(-4, 5)
        img[np.abs(yy - xx - c) <= 1] = 230
        img[np.abs(yy + xx - (s - 1) - c) <= 1] = 230


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("n", type=int)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--unknown", type=float, default=0.25)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    os.makedirs(os.path.join(a.dir, "img"), exist_ok=True)
    rows, truth = [], []
    for i in range(a.n):
        img = np.clip(rng.normal(100, 25, (a.size, a.size)), 0, 255)
        y = rng.integers(0, 2, len(LABELS))
        for j, name in enumerate(LABELS):
            if y[j]:
                draw(img, rng, name)
        name = "%06d.png" % i
        Image.fromarray(img.astype(np.uint8), "L").save(os.path.join(a.dir, "img", name))
        cells = [str(v) for v in y]
        if rng.random() < a.unknown:
            cells[rng.integers(0, len(LABELS))] = ""
        rows.append(",".join([name] + cells + [""]))
        truth.append(",".join([name] + [str(v) for v in y]))
    with open(os.path.join(a.dir, "targets.csv"), "w") as f:
        f.write("id," + ",".join(LABELS) + ",never\n" + "\n".join(rows) + "\n")
    with open(os.path.join(a.dir, "truth.csv"), "w") as f:
        f.write("id," + ",".join(LABELS) + "\n" + "\n".join(truth) + "\n")


if __name__ == "__main__":
    main()
