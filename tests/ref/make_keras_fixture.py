#!/usr/bin/env python3
"""Writes tests/ref/keras_inception.mpk: Keras' own InceptionV3 outputs and
one training step, as a radpipe stream, for tests/unit/test_inception_parity.c.

Run through make_keras_fixture.sh (it sets up the venv).  Frames, each one
msgpack map:

  {kind:"ref_meta", ...}            versions, formulas, settings (below)
  {kind:"ref", name, x[, idx, full_shape]}
      name "<image>/input"           u8 [299,299,3] after load + resize
           "<image>/<pre>/<layer>"   pre: rescale | inception; layer: mixed0,
                                     mixed5 (subsampled), mixed10, pool (full)
           "train/loss", "train/logits", "train/probs", "train/mixed0",
           "train/mixed10" (training-mode outputs, batch of both, subsampled)
           "train/grad/<param>", "train/param/<param>" (subsampled)
      x    f32 tensor; with idx (i32, flat row-major indices into a tensor of
           shape full_shape) when subsampled.

Training step (training mode: batch statistics, no dropout): the base
with GAP -> Dense(256, relu) -> Dense(1) logits; loss = Keras 2
binary_crossentropy of sigmoid(logits) with p clipped to [1e-7, 1-1e-7];
labels chest2 = 0, abd2 = 1; preprocessing rescale; one Adam step, lr 1e-4,
beta 0.9/0.999, epsilon 1e-8 (the paper's Keras default).  Head kernels:
w[i] = (2u - 1) * sqrt(6 / (fan_in + fan_out)), u = ((i * 2654435761 + salt)
mod 2^32) / 2^32 computed in float64 and rounded to float32, i the flat
row-major index of the (in, out) kernel, salt 1 for dense_1, 2 for dense_2;
biases zero.
"""
import hashlib
import os
import re
import sys

import h5py
import msgpack
import numpy as np
from PIL import Image

import tensorflow as tf
import keras

IMAGES = ("chest2", "abd2")
PREPROCESS = {"rescale": (1.0 / 255.0, 0.0), "inception": (1.0 / 127.5, -1.0)}
SUBSAMPLE = 4096
TRAIN_SUBSAMPLE = 1024
TRAIN_PARAMS = (
    "conv2d_1/kernel:0", "batch_normalization_1/beta:0",
    "batch_normalization_1/moving_mean:0", "batch_normalization_1/moving_variance:0",
    "conv2d_50/kernel:0", "batch_normalization_50/beta:0",
    "conv2d_94/kernel:0", "batch_normalization_94/beta:0",
    "batch_normalization_94/moving_mean:0", "batch_normalization_94/moving_variance:0",
    "dense_1/kernel:0", "dense_1/bias:0", "dense_2/kernel:0", "dense_2/bias:0",
)


def tensor(a):
    a = np.ascontiguousarray(a)
    dt = {np.dtype("float32"): "f32", np.dtype("uint8"): "u8",
          np.dtype("int32"): "i32"}[a.dtype]
    return {"dtype": dt, "shape": list(a.shape), "data": a.astype(a.dtype.newbyteorder("<")).tobytes()}


def keras2_name(name):
    """Keras 3 auto names (conv2d, conv2d_1, ...) -> Keras 2 (conv2d_1, conv2d_2, ...)."""
    m = re.fullmatch(r"(conv2d|batch_normalization)(?:_(\d+))?", name)
    if not m:
        return name
    return "%s_%d" % (m.group(1), int(m.group(2) or 0) + 1)


def load_weights(model, path):
    """Sets every conv/BN weight of model from the Keras 2 file, by name."""
    f = h5py.File(path, "r")
    placed = layers = 0
    for layer in model.layers:
        if not layer.weights:
            continue
        k2 = keras2_name(layer.name)
        g = f[k2]
        names = [n.decode() for n in g.attrs["weight_names"]]
        vals = []
        for var, wn in zip(layer.weights, names):
            a = np.asarray(g[wn])
            assert wn.endswith(var.name + ":0"), (wn, var.name)
            assert a.shape == tuple(var.shape), (wn, a.shape, var.shape)
            vals.append(a)
        assert len(names) == len(layer.weights), k2
        layer.set_weights(vals)
        placed += len(vals)
        layers += 1
    assert (layers, placed) == (188, 376), (layers, placed)
    return placed


def load_image(path):
    img = Image.open(path)
    if img.mode != "RGB":
        img = img.convert("RGB")
    img = img.resize((299, 299), Image.NEAREST)
    return np.asarray(img, dtype=np.uint8)


def preprocess(u8, pre):
    scale, offset = PREPROCESS[pre]
    return u8.astype(np.float32) * np.float32(scale) + np.float32(offset)


def subsample(a, n, seed):
    flat = a.reshape(-1)
    if flat.size <= n:
        return flat, None
    idx = np.sort(np.random.default_rng(seed).choice(flat.size, n, replace=False))
    return flat[idx], idx.astype(np.int32)


def ref_frame(name, a, n=None, seed=0):
    fr = {"kind": "ref", "name": name}
    if n is None:
        fr["x"] = tensor(a.astype(np.float32))
        return fr
    vals, idx = subsample(a.astype(np.float32), n, seed)
    fr["x"] = tensor(vals)
    if idx is not None:
        fr["idx"] = tensor(idx)
        fr["full_shape"] = list(a.shape)
    return fr


def head_kernel(fan_in, fan_out, salt):
    i = np.arange(fan_in * fan_out, dtype=np.uint64)
    u = ((i * np.uint64(2654435761) + np.uint64(salt)) % np.uint64(1 << 32)).astype(np.float64) / 2.0**32
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return ((2.0 * u - 1.0) * lim).astype(np.float32).reshape(fan_in, fan_out)


def forward_frames(base, imgs):
    feat = keras.Model(base.input, [base.get_layer(n).output for n in ("mixed0", "mixed5", "mixed10")])
    frames = []
    for pre in PREPROCESS:
        batch = np.stack([preprocess(imgs[n], pre) for n in IMAGES])
        outs = [np.asarray(o) for o in feat(batch, training=False)]
        for k, name in enumerate(IMAGES):
            m0, m5, m10 = (o[k] for o in outs)
            p = "%s/%s/" % (name, pre)
            frames.append(ref_frame(p + "mixed0", m0, SUBSAMPLE, 1))
            frames.append(ref_frame(p + "mixed5", m5, SUBSAMPLE, 5))
            frames.append(ref_frame(p + "mixed10", m10))
            frames.append(ref_frame(p + "pool", m10.astype(np.float64).mean(axis=(0, 1))))
    return frames


def train_frames(base, imgs):
    x = keras.layers.GlobalAveragePooling2D(name="gap")(base.output)
    x = keras.layers.Dense(256, activation="relu", name="d1")(x)
    logits = keras.layers.Dense(1, name="d2")(x)
    model = keras.Model(base.input, logits)
    d1, d2 = model.get_layer("d1"), model.get_layer("d2")
    d1.set_weights([head_kernel(2048, 256, 1), np.zeros(256, np.float32)])
    d2.set_weights([head_kernel(256, 1, 2), np.zeros(1, np.float32)])
    byname = {}
    for layer in model.layers:
        k2 = {"d1": "dense_1", "d2": "dense_2"}.get(layer.name, keras2_name(layer.name))
        for var in layer.weights:
            byname["%s/%s:0" % (k2, var.name)] = var
    xb = np.stack([preprocess(imgs[n], "rescale") for n in IMAGES])
    y = tf.constant([[0.0], [1.0]])
    # training-mode outputs; the probe's moving-statistics update is undone
    probe = keras.Model(base.input, [base.get_layer(n).output for n in ("mixed0", "mixed10")])
    keep = [(v, v.numpy()) for v in model.non_trainable_variables]
    t0, t10 = (np.asarray(o) for o in probe(xb, training=True))
    for v, a in keep:
        v.assign(a)
    opt = keras.optimizers.Adam(learning_rate=1e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    tv = model.trainable_variables
    with tf.GradientTape() as tape:
        z = model(xb, training=True)
        p = tf.clip_by_value(tf.sigmoid(z), 1e-7, 1 - 1e-7)
        loss = tf.reduce_mean(-(y * tf.math.log(p) + (1 - y) * tf.math.log(1 - p)))
    grads = tape.gradient(loss, tv)
    gby = {id(v): g for v, g in zip(tv, grads)}
    frames = [ref_frame("train/loss", np.array([loss.numpy()], np.float32)),
              ref_frame("train/logits", z.numpy().reshape(-1)),
              ref_frame("train/probs", tf.sigmoid(z).numpy().reshape(-1)),
              ref_frame("train/mixed0", t0, SUBSAMPLE, 50),
              ref_frame("train/mixed10", t10, SUBSAMPLE, 60)]
    for k, name in enumerate(TRAIN_PARAMS):
        var = byname[name]
        if id(var) in gby:
            frames.append(ref_frame("train/grad/" + name, np.asarray(gby[id(var)]), TRAIN_SUBSAMPLE, 100 + k))
    opt.apply_gradients(zip(grads, tv))
    for k, name in enumerate(TRAIN_PARAMS):
        frames.append(ref_frame("train/param/" + name, np.asarray(byname[name].numpy()), TRAIN_SUBSAMPLE, 100 + k))
    return frames


def main():
    out = sys.argv[1]
    wpath = os.path.join(os.environ["RADPIPE_WEIGHTS"], "inception_v3_imagenet_notop.h5")
    dpath = os.environ["RADPIPE_DATA"]
    keras.backend.clear_session()
    base = keras.applications.InceptionV3(include_top=False, weights=None, input_shape=(299, 299, 3))
    load_weights(base, wpath)
    imgs = {n: load_image(os.path.join(dpath, "TEST", n + ".png")) for n in IMAGES}
    meta = {
        "kind": "ref_meta",
        "generator": "tests/ref/make_keras_fixture.py",
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "weights_sha256": hashlib.sha256(open(wpath, "rb").read()).hexdigest(),
        "images": {n: hashlib.sha256(open(os.path.join(dpath, "TEST", n + ".png"), "rb").read()).hexdigest() for n in IMAGES},
        "resize": "PIL convert('RGB') then NEAREST to 299x299",
        "preprocess": {k: {"scale": v[0], "offset": v[1]} for k, v in PREPROCESS.items()},
        "subsample": "fixed numpy default_rng(seed).choice, sorted; idx = flat row-major index",
        "train": {"labels": [0, 1], "preprocess": "rescale", "head": [256, 0.0, 1],
                  "optimizer": {"type": "adam", "lr": 1e-4, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
                  "bce_clip": 1e-7, "bn_moving_variance": "biased (keras 3 ops.moments)",
                  "head_init": "w[i] = (2u-1)*sqrt(6/(fan_in+fan_out)), u = ((i*2654435761+salt) mod 2^32)/2^32, salt 1 dense_1, 2 dense_2; biases 0"},
    }
    frames = [meta]
    frames += [{"kind": "ref", "name": n + "/input", "x": tensor(imgs[n])} for n in IMAGES]
    frames += forward_frames(base, imgs)
    frames += train_frames(base, imgs)
    with open(out + ".tmp", "wb") as f:
        for fr in frames:
            f.write(msgpack.packb(fr, use_bin_type=True))
    os.replace(out + ".tmp", out)
    print("wrote %s: %d frames, %d bytes" % (out, len(frames), os.path.getsize(out)))


if __name__ == "__main__":
    main()
