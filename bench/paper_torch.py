#!/usr/bin/env python3
"""paper_torch.py — the paper's run in PyTorch on the CPU, for timing only.

The same work as pipelines/hello-world: 65 training images at 299x299,
Keras-style augmentation (rotation 20, shifts 0.2, shear 11.46 deg, zoom 0.2,
horizontal flip), batch 5, InceptionV3 base + GAP + Dense 256 ReLU +
Dropout 0.5 + Dense 1 sigmoid, BCE, Adam 1e-4, validation on the 10 VAL
images after every epoch in batches of 5 (the paper's validation_generator,
batch_size 5, validation_steps 2), and the model saved at the end (atomically,
as nntrain --save).  The weights are random (torchvision's InceptionV3
cannot load the Keras file as is): the arithmetic, and so the time, is the
same.  Prints one line per epoch and a final JSON line: "seconds" is the
whole run from the start of main (loading the images, building the model,
training, validating, saving), as radpipe's pipeline is timed from its
start; "train_seconds" the training loop alone (what this script reported
before).  bench-paper.sh also times the whole process, import torch
included.

usage: paper_torch.py DATA_DIR [--epochs 20] [--threads 2] [--save FILE]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T


def load(folder):
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    xs, ys = [], []
    for label, c in enumerate(classes):
        for name in sorted(os.listdir(os.path.join(folder, c))):
            img = Image.open(os.path.join(folder, c, name)).convert("RGB").resize((299, 299), Image.NEAREST)
            xs.append(img)
            ys.append(label)
    return xs, torch.tensor(ys, dtype=torch.float32)


def model():
    base = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    for m in base.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eps, m.momentum = 1e-3, 0.01
    base.fc = torch.nn.Sequential(torch.nn.Linear(2048, 256), torch.nn.ReLU(),
                                  torch.nn.Dropout(0.5), torch.nn.Linear(256, 1))
    base.dropout = torch.nn.Identity()
    return base.to(memory_format=torch.channels_last)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                    help="bf16: forward passes under torch.autocast('cpu', bfloat16)")
    ap.add_argument("--save", help="write the trained model (state_dict) here")
    a = ap.parse_args()
    t_start = time.time()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    train_x, train_y = load(os.path.join(a.data, "TRAIN"))
    val_x, val_y = load(os.path.join(a.data, "VAL"))
    aug = T.Compose([T.RandomAffine(20, translate=(0.2, 0.2), scale=(0.8, 1.2), shear=11.46),
                     T.RandomHorizontalFlip(), T.PILToTensor()])
    to_t = T.PILToTensor()
    val = torch.stack([to_t(x) for x in val_x]).float().div(255).contiguous(memory_format=torch.channels_last)
    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, eps=1e-8)
    lossf = torch.nn.BCEWithLogitsLoss()
    t_all = time.time()
    for epoch in range(a.epochs):
        t0 = time.time()
        net.train()
        perm = torch.randperm(len(train_x))
        for i in range(0, len(perm), 5):
            idx = perm[i:i + 5]
            x = torch.stack([aug(train_x[j]) for j in idx]).float().div(255)
            x = x.contiguous(memory_format=torch.channels_last)
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
                z = net(x).float()
            loss = lossf(z.squeeze(1), train_y[idx])
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16,
                                             enabled=a.precision == "bf16"):
            p = torch.cat([torch.sigmoid(net(val[i:i + 5]).float().squeeze(1))
                           for i in range(0, len(val), 5)])
        acc = float(((p > 0.5).float() == val_y).float().mean())
        print(f"epoch {epoch + 1}: {time.time() - t0:.1f} s, val_acc {acc:.2f}", file=sys.stderr)
    train_wall = time.time() - t_all
    if a.save:
        torch.save(net.state_dict(), a.save + ".tmp")
        with open(a.save + ".tmp", "rb") as f:
            os.fsync(f.fileno())
        os.replace(a.save + ".tmp", a.save)
    wall = time.time() - t_start
    print(json.dumps({"torch": torch.__version__, "precision": a.precision, "epochs": a.epochs, "seconds": wall,
                      "train_seconds": train_wall, "images_per_s": a.epochs * len(train_x) / wall}))


if __name__ == "__main__":
    main()
