#!/usr/bin/env python3
"""bench_inception_torch.py -- PyTorch side of make bench-inception.

torchvision inception_v3(aux_logits=False, init_weights=False) without its
fc, plus the paper's head (GAP -> Dense 256 relu -> Dropout 0.5 -> Dense 1,
sigmoid + BCE), channels_last, 2 threads, Adam; 299x299 inputs.  Each
configuration runs in its own process (peak RSS per configuration).
Writes "mode batch img/s rss_mb" lines (-o) for bench_inception --torch.
--precision bf16: the forward pass (and so its backward) under
torch.autocast("cpu", dtype=torch.bfloat16), fp32 parameters and optimiser.

With --arch resnet50|densenet121|mobilenet_v2 (and --size), torchvision's
implementation of that network instead, its classifier replaced by the
same head.

usage: bench_inception_torch.py [--arch A] [--size N] [--quick] [--time S] [--threads N]
                                [--precision fp32|bf16] [--only MODE:B] [-o FILE]
"""
import argparse
import multiprocessing as mp
import resource
import time

FULL = [("infer", 1), ("infer", 5), ("infer", 32),
        ("train", 5), ("train", 16), ("train", 32)]
QUICK = [("infer", 5), ("train", 5)]


def model(torch, tv, arch):
    if arch == "inception_v3":
        base = tv.models.inception_v3(weights=None, aux_logits=False,
                                      init_weights=False)
        base.fc = torch.nn.Identity()
        base.dropout = torch.nn.Identity()
        feat = 2048
    elif arch == "resnet50":
        base = tv.models.resnet50(weights=None)
        base.fc = torch.nn.Identity()
        feat = 2048
    elif arch == "densenet121":
        base = tv.models.densenet121(weights=None)
        base.classifier = torch.nn.Identity()
        feat = 1024
    elif arch == "mobilenet_v2":
        base = tv.models.mobilenet_v2(weights=None)
        base.classifier = torch.nn.Identity()
        feat = 1280
    else:
        raise SystemExit("bench_inception_torch.py: unknown --arch " + arch)
    head = torch.nn.Sequential(torch.nn.Linear(feat, 256), torch.nn.ReLU(),
                               torch.nn.Dropout(0.5), torch.nn.Linear(256, 1))
    return torch.nn.Sequential(base, head).to(memory_format=torch.channels_last)


def run(mode, batch, secs, threads, arch, size, precision, q):
    import torch
    import torchvision as tv
    torch.set_num_threads(threads)
    m = model(torch, tv, arch)
    x = torch.rand(batch, 3, size, size).to(memory_format=torch.channels_last)
    y = (torch.arange(batch) % 2).float().unsqueeze(1)
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def fwd():
        with torch.autocast("cpu", dtype=torch.bfloat16,
                            enabled=precision == "bf16"):
            return m(x).float()

    def step():
        if mode == "infer":
            with torch.no_grad():
                torch.sigmoid(fwd())
            return
        opt.zero_grad(set_to_none=True)
        loss_fn(fwd(), y).backward()
        opt.step()

    m.train(mode == "train")
    step()
    n, t0 = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t0 < secs:
        step()
        n += 1
    dt = (time.perf_counter() - t0) / n
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q.put((mode, batch, batch / dt, rss))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--time", type=float, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--arch", default="inception_v3")
    ap.add_argument("--size", type=int, default=299)
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument("--only", default=None, help="one configuration, e.g. train:5")
    ap.add_argument("-o", dest="out", default=None)
    a, _ = ap.parse_known_args()
    cfgs = QUICK if a.quick else FULL
    if a.only:
        mode, b = a.only.split(":")
        cfgs = [(mode, int(b))]
    secs = a.time if a.time is not None else (3 if a.quick else 8)
    ctx = mp.get_context("spawn")
    lines = []
    for mode, b in cfgs:
        q = ctx.Queue()
        p = ctx.Process(target=run, args=(mode, b, secs, a.threads, a.arch, a.size,
                                          a.precision, q))
        p.start()
        r = q.get()
        p.join()
        lines.append("%s\t%d\t%.3f\t%.0f" % r)
        print("torch %s %d: %.2f img/s, %.0f MB" % r, flush=True)
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
