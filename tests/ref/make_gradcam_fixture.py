#!/usr/bin/env python3
"""make_gradcam_fixture.py — the independent Grad-CAM reference for
tests/unit/test_cam.c: PyTorch (autograd, hooks on the layer) on the same
small network as radpipe's small_cnn with the same weights.

Run through make_gradcam_fixture.sh (it sets up bench/venv):
    tests/ref/make_gradcam_fixture.sh [tests/ref/gradcam_fixture.h]

The network (libshared/nn/models/models.c, nn_small_cnn) for a 24x24x3
input, head: GAP -> Dense(16, relu) -> Dropout(0.5) -> Dense(1, sigmoid)
or Dense(3, softmax);
inference semantics (BN with moving statistics, eps 1e-3; no dropout);
preprocessing x/255.  Everything is computed in float64.

Weights (radpipe parameter order; q = parameter index, i = flat row-major
index in the Keras shape): u = ((i * 2654435761 + q + 1) mod 2^32) / 2^32,
then kernel (2u-1)*sqrt(3/fan_in), bias 0.1*(2u-1), gamma 0.5+u,
beta 0.2*(2u-1), moving_mean 0.2*(2u-1), moving_variance 0.5+u, each
rounded to float32 (test_cam.c computes the same).

Grad-CAM: S = the logit z (sigmoid: class 1) or -z (class 0), softmax:
z_k (class k; -1: each image's most probable class); A = the layer's
output; alpha_c = mean_ij dS/dA_ijc; raw = ReLU(sum_c alpha_c A_c);
heat = F.interpolate(raw, input size, bilinear, align_corners=False),
divided by its max per image (an all-zero map stays zero).  (The
pytorch-grad-cam package instead min-max normalises at the layer's
resolution before cv2.resize; radpipe follows the definition above.)
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

H = W = 24
C = 3
N = 3
UNITS = 16
# (layer, class, classes): classes 1 = sigmoid head, S = z (class 1) or -z
# (class 0); classes 3 = softmax head, S = z_class (-1: each image's
# most probable class)
CASES = (("activation_5", 1, 1), ("concatenate_1", 1, 1), ("activation_5", 0, 1),
         ("activation_5", 2, 3), ("concatenate_1", -1, 3))


def params(classes):
    """(name, Keras shape, kind, fan_in) in radpipe's order."""
    p = []

    def conv(k, kh, cin, cout, bias):
        p.append((f"conv2d_{k}/kernel:0", (kh, kh, cin, cout), "kernel", kh * kh * cin))
        if bias:
            p.append((f"conv2d_{k}/bias:0", (cout,), "bias", 0))

    def bn(k, c, scale):
        if scale:
            p.append((f"batch_normalization_{k}/gamma:0", (c,), "gamma", 0))
        p.append((f"batch_normalization_{k}/beta:0", (c,), "beta", 0))
        p.append((f"batch_normalization_{k}/moving_mean:0", (c,), "moving_mean", 0))
        p.append((f"batch_normalization_{k}/moving_variance:0", (c,), "moving_variance", 0))

    conv(1, 3, C, 8, False); bn(1, 8, False)
    conv(2, 1, 8, 8, False); bn(2, 8, False)
    conv(3, 3, 8, 8, False); bn(3, 8, False)
    conv(4, 1, 8, 4, False); bn(4, 4, False)
    conv(5, 3, 20, 16, True); bn(5, 16, True)
    p.append(("dense_1/kernel:0", (16, UNITS), "kernel", 16))
    p.append(("dense_1/bias:0", (UNITS,), "bias", 0))
    p.append(("dense_2/kernel:0", (UNITS, classes), "kernel", UNITS))
    p.append(("dense_2/bias:0", (classes,), "bias", 0))
    return p


def values(q, shape, kind, fan_in):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.uint64)
    u = ((i * np.uint64(2654435761) + np.uint64(q + 1)) % np.uint64(1 << 32)).astype(np.float64) / 2.0**32
    v = {"kernel": lambda: (2 * u - 1) * np.sqrt(3.0 / max(fan_in, 1)),
         "bias": lambda: 0.1 * (2 * u - 1), "gamma": lambda: 0.5 + u,
         "beta": lambda: 0.2 * (2 * u - 1), "moving_mean": lambda: 0.2 * (2 * u - 1),
         "moving_variance": lambda: 0.5 + u}[kind]()
    return v.astype(np.float32).astype(np.float64).reshape(shape)


class SmallCNN(torch.nn.Module):
    """small_cnn in NCHW; records named activations in self.acts."""

    def __init__(self, w):
        super().__init__()
        self.w = {k: torch.tensor(v, requires_grad="moving" not in k) for k, v in w.items()}
        self.acts = {}

    def conv(self, x, k, stride=1, pad=0):
        kern = self.w[f"conv2d_{k}/kernel:0"].permute(3, 2, 0, 1)   # HWIO -> OIHW
        b = self.w.get(f"conv2d_{k}/bias:0")
        return F.conv2d(x, kern, b, stride=stride, padding=pad)

    def bn(self, x, k):
        g = self.w.get(f"batch_normalization_{k}/gamma:0")
        return F.batch_norm(x, self.w[f"batch_normalization_{k}/moving_mean:0"],
                            self.w[f"batch_normalization_{k}/moving_variance:0"],
                            g, self.w[f"batch_normalization_{k}/beta:0"],
                            training=False, eps=1e-3)

    def keep(self, name, t):
        self.acts[name] = t
        return t

    def forward(self, x):
        a = self.keep("activation_1", F.relu(self.bn(self.conv(x, 1, pad=1), 1)))
        p = F.max_pool2d(a, 2, 2)
        b0 = F.relu(self.bn(self.conv(p, 2), 2))
        b1 = F.relu(self.bn(self.conv(p, 3, pad=1), 3))
        b2 = F.avg_pool2d(p, 3, 1, padding=1, count_include_pad=False)
        b2 = F.relu(self.bn(self.conv(b2, 4), 4))
        cat = self.keep("concatenate_1", torch.cat([b0, b1, b2], 1))
        a5 = self.keep("activation_5", F.relu(self.bn(self.conv(cat, 5, stride=2), 5)))
        g = a5.mean((2, 3))
        d1 = F.relu(g @ self.w["dense_1/kernel:0"] + self.w["dense_1/bias:0"])
        return d1 @ self.w["dense_2/kernel:0"] + self.w["dense_2/bias:0"]   # logits


def gradcam(model, x, layer, cls):
    """raw maps (n, h, w), heat maps (n, H, W), logits (n, classes) by autograd
    through hooks on the layer's output."""
    grads = {}
    model.acts = {}
    logits = model(x)
    a = model.acts[layer]
    a.register_hook(lambda g: grads.__setitem__("g", g))
    if logits.shape[1] == 1:
        s = logits[:, 0] if cls == 1 else -logits[:, 0]
    else:
        k = logits.argmax(1) if cls < 0 else torch.full((logits.shape[0],), cls)
        s = logits.gather(1, k[:, None])[:, 0]
    s.sum().backward()                       # images are independent in eval mode
    g = grads["g"]
    alpha = g.mean((2, 3), keepdim=True)
    raw = F.relu((alpha * a).sum(1))
    heat = F.interpolate(raw[:, None], size=(H, W), mode="bilinear", align_corners=False)[:, 0]
    mx = heat.amax((1, 2), keepdim=True)
    heat = torch.where(mx > 0, heat / torch.where(mx > 0, mx, torch.ones_like(mx)), heat)
    return raw.detach().numpy(), heat.detach().numpy(), logits.detach().numpy()


def carr(out, ctype, name, a, fmt):
    flat = np.asarray(a).ravel()
    out.append(f"static const {ctype} {name}[{flat.size}] = {{\n")
    for k in range(0, flat.size, 8):
        out.append("\t" + " ".join(fmt(v) + "," for v in flat[k:k + 8]) + "\n")
    out.append("};\n")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "gradcam_fixture.h"
    torch.set_default_dtype(torch.float64)
    plist = params(1)
    rng = np.random.default_rng(20260601)
    img = rng.integers(0, 256, size=(N, H, W, C), dtype=np.uint8)
    # a bright square in each image, so the maps have some structure
    for k in range(N):
        y0, x0 = 3 + 5 * k, 12 - 4 * k
        img[k, y0:y0 + 7, x0:x0 + 7, :] = 255
    x = torch.tensor(img.astype(np.float64) / 255.0).permute(0, 3, 1, 2)
    models = {}
    for classes in (1, 3):
        w = {name: values(q, shape, kind, fan)
             for q, (name, shape, kind, fan) in enumerate(params(classes))}
        models[classes] = SmallCNN(w)
    out = ["/* gradcam_fixture.h — generated by tests/ref/make_gradcam_fixture.py\n"
           f" * (torch {torch.__version__}, float64); do not edit.  See the script for\n"
           " * the network, the weight formula and the Grad-CAM definition. */\n",
           f"#define GCFX_N {N}\n#define GCFX_H {H}\n#define GCFX_W {W}\n#define GCFX_C {C}\n",
           f"#define GCFX_UNITS {UNITS}\n#define GCFX_NPARAM {len(plist)}\n#define GCFX_NCASE {len(CASES)}\n"]
    out.append("static const char *const gcfx_param[GCFX_NPARAM] = {\n")
    out += [f'\t"{name}",\n' for name, *_ in plist]
    out.append("};\n")
    carr(out, "unsigned char", "gcfx_x", img, lambda v: str(int(v)))
    cases = []
    for k, (layer, cls, classes) in enumerate(CASES):
        raw, heat, z = gradcam(models[classes], x, layer, cls)
        carr(out, "double", f"gcfx_raw{k}", raw, lambda v: repr(float(v)))
        carr(out, "double", f"gcfx_heat{k}", heat, lambda v: repr(float(v)))
        carr(out, "double", f"gcfx_logit{k}", z, lambda v: repr(float(v)))
        cases.append(f'\t{{ "{layer}", {cls}, {classes}, {raw.shape[1]}, {raw.shape[2]}, '
                     f'gcfx_raw{k}, gcfx_heat{k}, gcfx_logit{k} }},\n')
    out.append("struct gcfx_case { const char *layer; int cls, classes, h, w;\n"
               "\tconst double *raw, *heat, *logit; };\n")
    out.append("static const struct gcfx_case gcfx_case[GCFX_NCASE] = {\n")
    out += cases
    out.append("};\n")
    with open(path + ".tmp", "w") as f:
        f.write("".join(out))
    import os
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
