#!/usr/bin/env python3
"""PyTorch side of tests/gpu/run.sh: torchvision's InceptionV3 (no aux
head) with the paper's head (GAP -> Dense 256 relu -> Dropout 0.5 -> Dense 1),
299x299x3, channels_last, Adam; images/s for training and inference at the
batch sizes bench_cuda uses, in fp32 (TF32 off), TF32, and automatic mixed
precision (torch.autocast) in bf16 and fp16 (fp16 with a GradScaler), fp32
master weights in all.  No CUDA graphs (eager PyTorch, as most people run
it).  Prints a markdown table like bench_cuda's.

usage: torch_bench.py [SECONDS per row (default 1)] [PRECISION...]"""
import contextlib
import sys
import time

import torch
import torchvision

SECS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
PRECS = sys.argv[2:] or ["fp32", "tf32", "bf16", "fp16"]
HALF = {"bf16": torch.bfloat16, "fp16": torch.float16}


def model():
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    net.fc = torch.nn.Sequential(torch.nn.Linear(2048, 256), torch.nn.ReLU(),
                                 torch.nn.Dropout(0.5), torch.nn.Linear(256, 1))
    return net.cuda().to(memory_format=torch.channels_last)


def autocast(prec):
    if prec in HALF:
        return torch.autocast("cuda", dtype=HALF[prec])
    return contextlib.nullcontext()


def rate(net, batch, train, prec):
    x = torch.randint(0, 256, (batch, 3, 299, 299), dtype=torch.uint8, device="cuda")
    y = (torch.arange(batch, device="cuda") % 2).float().unsqueeze(1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    lossf = torch.nn.BCEWithLogitsLoss()
    scaler = torch.amp.GradScaler("cuda", enabled=prec == "fp16")
    net.train(train)
    it, t0 = 0, 0.0
    while True:
        if it == 3:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
        xf = (x.float() / 127.5 - 1).contiguous(memory_format=torch.channels_last)
        if train:
            opt.zero_grad(set_to_none=True)
            with autocast(prec):
                loss = lossf(net(xf).float(), y)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            loss.item()
        else:
            with torch.no_grad(), autocast(prec):
                torch.sigmoid(net(xf).float()).cpu()
        it += 1
        if it >= 6 and time.perf_counter() - t0 >= SECS:
            break
    torch.cuda.synchronize()
    return (it - 3) * batch / (time.perf_counter() - t0)


def main():
    torch.backends.cudnn.benchmark = True
    print(f"# torchvision InceptionV3, torch {torch.__version__}, {torch.cuda.get_device_name()}\n")
    print("| precision | mode | batch | images/s |\n|---|---|---|---|")
    for prec in PRECS:
        torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
        torch.backends.cudnn.allow_tf32 = prec == "tf32"
        for train, batches in ((True, (5, 32, 128)), (False, (1, 32, 256))):
            for b in batches:
                net = model()
                r = rate(net, b, train, prec)
                print(f"| {prec} | {'train' if train else 'infer'} | {b} | {r:.1f} |", flush=True)
                del net
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
