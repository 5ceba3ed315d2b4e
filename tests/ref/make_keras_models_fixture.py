#!/usr/bin/env python3
"""Writes tests/ref/keras_<arch>.mpk (and keras_<arch>_weights.h5) for
tests/unit/test_models_parity.c: Keras' own ResNet50, DenseNet121 and
MobileNetV2 (include_top=False, weights=None), with weights set from a
formula both Python and C compute, a forward pass and one training step.

Run through make_keras_models_fixture.sh (it sets up the venv):

    make_keras_models_fixture.py OUTDIR [arch ...]

Weights (every weight of the base; the same formula is in the C test):
  name = "<layer>/<weight>:0" (the h5 weight name), salt = FNV-1a 32 of name,
  i the flat row-major index in Keras' shape, j = i mod 61 (the period makes
  the h5 file compress to almost nothing),
  u = (((j + 1) * 2654435761 + salt) mod 2^32) / 2^32 (float64),
  v = 2u - 1, then, rounded to float32:
    kernel            v * sqrt(3 / fan_in), fan_in = product of shape[:-1]
    depthwise_kernel  v * sqrt(3 / (kh * kw))
  (variance 1/fan_in: a convolution keeps its input's scale, so that the
  residual sums of ResNet50 stay far from float32's limits in inference)
    bias, beta, moving_mean   0.1 v
    gamma                     1 + 0.1 v, but 0.2 + 0.02 v in the layers
                              called *_3_bn (the last batch norm of each
                              residual branch of ResNet50: the residual sums
                              then grow slowly in inference)
    moving_variance           1 + 0.25 v
RADPIPE_FIXTURE_GAIN (default 3) sets the kernels' range sqrt(GAIN/fan_in);
RADPIPE_FIXTURE_FLOATX=float64 computes the references in Keras float64
(the same float32 weights; the h5 stays float32): the exact answer to
compare radpipe's float32 with, free of Keras float32's own ReLU flips (see
KINKS in test_models_parity.c); its batch norm is then Keras' non-fused one,
whose moving variance uses the biased batch variance, so the test does not
compare moving statistics of such a fixture (meta "floatx").
Head of the training step: GAP -> Dense(256, relu) -> Dense(1) logits,
kernels as make_keras_fixture.py (salt 1 and 2, glorot range, i not
reduced), biases zero.

Frames (msgpack maps):
  {kind:"ref_meta", arch, size, versions, params, trainable, layers:[names
   in model.layers order], types:[class names], h5:[[weight name, shape]...]}
  {kind:"ref", name, x[, idx, full_shape]}
    "input"                  u8 [2, size, size, 3] (chest2, abd2, NEAREST)
    "fwd/<layer>"            inference-mode output (both images, subsampled
                             when large), after the arch's preprocess_input
    "train/loss", "train/probs", "train/<layer>" (training mode)
    "train/gnorm/<param>"    f64-computed [2-norm, sum] of the gradient, f32
    "train/grad/<param>"     subsampled gradient (64 entries) of every
                             trainable parameter
    "train/param/<param>"    after one Adam step (lr 1e-4) for a few
                             parameters; moving statistics after the step
"""
import hashlib
import os
import sys

import h5py
import msgpack
import numpy as np
from PIL import Image

import tensorflow as tf
import keras

SIZE = 64
IMAGES = ("chest2", "abd2")
PERIOD = 61
GAIN = float(os.environ.get("RADPIPE_FIXTURE_GAIN", "3"))   # kernel range sqrt(GAIN / fan_in)
# float32 (default) or float64: the precision Keras computes the references
# in (the weights stay the float32 values of the formula, the h5 float32).
FLOATX = os.environ.get("RADPIPE_FIXTURE_FLOATX", "float32")

ARCHS = {
    "resnet50": dict(
        build=lambda: keras.applications.ResNet50(include_top=False, weights=None, input_shape=(SIZE, SIZE, 3)),
        pre=keras.applications.resnet.preprocess_input, pre_name="caffe",
        fwd=("conv1_relu", "conv2_block3_out", "conv4_block6_out", "conv5_block3_out"),
        train=("conv2_block1_out", "conv5_block3_out"),
        step=("conv1_conv/kernel:0", "conv1_bn/gamma:0", "conv3_block2_2_conv/kernel:0",
              "conv5_block3_3_bn/beta:0", "dense_1/kernel:0", "dense_2/bias:0"),
        stats=("conv1_bn", "conv5_block3_3_bn")),
    "densenet121": dict(
        build=lambda: keras.applications.DenseNet121(include_top=False, weights=None, input_shape=(SIZE, SIZE, 3)),
        pre=keras.applications.densenet.preprocess_input, pre_name="torch",
        fwd=("conv1/relu", "pool2_pool", "conv4_block24_concat", "relu"),
        train=("pool2_pool", "relu"),
        step=("conv1/conv/kernel:0", "conv1/bn/gamma:0", "conv3_block5_2_conv/kernel:0",
              "bn/beta:0", "dense_1/kernel:0", "dense_2/bias:0"),
        stats=("conv1/bn", "bn")),
    "mobilenet_v2": dict(
        build=lambda: keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(SIZE, SIZE, 3)),
        pre=keras.applications.mobilenet_v2.preprocess_input, pre_name="tf",
        fwd=("Conv1_relu", "block_2_add", "block_13_depthwise_relu", "out_relu"),
        train=("block_2_add", "out_relu"),
        step=("Conv1/kernel:0", "expanded_conv_depthwise/depthwise_kernel:0", "block_6_depthwise/depthwise_kernel:0",
              "block_16_project_BN/gamma:0", "Conv_1_bn/beta:0", "dense_1/kernel:0", "dense_2/bias:0"),
        stats=("bn_Conv1", "block_6_depthwise_BN", "Conv_1_bn")),
}


def fnv1a(s):
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def formula(name, shape):
    n = int(np.prod(shape))
    j = np.arange(n, dtype=np.uint64) % np.uint64(PERIOD)
    u = (((j + np.uint64(1)) * np.uint64(2654435761) + np.uint64(fnv1a(name))) % np.uint64(1 << 32)).astype(np.float64) / 2.0**32
    v = 2.0 * u - 1.0
    w = name.rsplit("/", 1)[1]
    if w == "kernel:0":
        a = v * np.sqrt(GAIN / np.prod(shape[:-1]))
    elif w == "depthwise_kernel:0":
        a = v * np.sqrt(GAIN / (shape[0] * shape[1]))
    elif w in ("bias:0", "beta:0", "moving_mean:0"):
        a = 0.1 * v
    elif w == "gamma:0" and name.endswith("_3_bn/gamma:0"):
        a = 0.2 + 0.02 * v
    elif w == "gamma:0":
        a = 1.0 + 0.1 * v
    elif w == "moving_variance:0":
        a = 1.0 + 0.25 * v
    else:
        raise ValueError(name)
    return a.astype(np.float32).reshape(shape)


def head_kernel(fan_in, fan_out, salt):
    i = np.arange(fan_in * fan_out, dtype=np.uint64)
    u = ((i * np.uint64(2654435761) + np.uint64(salt)) % np.uint64(1 << 32)).astype(np.float64) / 2.0**32
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return ((2.0 * u - 1.0) * lim).astype(np.float32).reshape(fan_in, fan_out)


def wname(layer, var):
    n = var.name
    if n.endswith(":0"):
        n = n[:-2]
    return "%s/%s:0" % (layer.name, n.rsplit("/", 1)[-1])


def tensor(a):
    a = np.ascontiguousarray(a)
    dt = {np.dtype("float32"): "f32", np.dtype("uint8"): "u8", np.dtype("int32"): "i32"}[a.dtype]
    return {"dtype": dt, "shape": list(a.shape), "data": a.astype(a.dtype.newbyteorder("<")).tobytes()}


def ref_frame(name, a, n=None, seed=0):
    a = np.asarray(a, np.float32)
    fr = {"kind": "ref", "name": name}
    flat = a.reshape(-1)
    if n is None or flat.size <= n:
        fr["x"] = tensor(flat)
        return fr
    idx = np.sort(np.random.default_rng(seed).choice(flat.size, n, replace=False))
    fr["x"] = tensor(flat[idx])
    fr["idx"] = tensor(idx.astype(np.int32))
    fr["full_shape"] = list(a.shape)
    return fr


def load_image(path):
    img = Image.open(path)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img.resize((SIZE, SIZE), Image.NEAREST), dtype=np.uint8)


def set_formula_weights(base):
    h5names = []
    for layer in base.layers:
        vals = []
        for var in layer.weights:
            n = wname(layer, var)
            vals.append(formula(n, tuple(var.shape)))
            h5names.append([n, list(var.shape)])
        if vals:
            layer.set_weights(vals)
    return h5names


def write_h5(base, path):
    """Keras writes the weights (legacy h5), then every dataset is rewritten
    gzip-compressed, shuffled, one chunk each (values, names and attributes
    unchanged), in the HDF5 1.10 format (libhdf5 >= 1.10 reads it; 'latest'
    from h5py's newer libhdf5 is not readable by 1.10): a few hundred KB."""
    tmp = path + ".keras.h5"
    base.save_weights(tmp)
    with h5py.File(tmp, "r") as src, h5py.File(path + ".tmp", "w", libver=("v110", "v110")) as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v

        def copy(name, obj):
            if isinstance(obj, h5py.Group):
                g = dst.require_group(name)
                for k, v in obj.attrs.items():
                    g.attrs[k] = v
            else:
                d = dst.create_dataset(name, data=obj[()], compression="gzip", compression_opts=9,
                                       shuffle=True, chunks=obj.shape or None)
                for k, v in obj.attrs.items():
                    d.attrs[k] = v
        src.visititems(copy)
    os.remove(tmp)
    os.replace(path + ".tmp", path)


def forward_frames(base, a, xb):
    feat = keras.Model(base.input, [base.get_layer(n).output for n in a["fwd"]])
    outs = feat(xb, training=False)
    return [ref_frame("fwd/" + n, np.asarray(o), 4096, 10 + k) for k, (n, o) in enumerate(zip(a["fwd"], outs))]


def train_frames(base, a, xb):
    x = keras.layers.GlobalAveragePooling2D(name="gap")(base.output)
    x = keras.layers.Dense(256, activation="relu", name="d1")(x)
    logits = keras.layers.Dense(1, name="d2")(x)
    model = keras.Model(base.input, logits)
    fan = int(base.output.shape[-1])
    model.get_layer("d1").set_weights([head_kernel(fan, 256, 1), np.zeros(256, np.float32)])
    model.get_layer("d2").set_weights([head_kernel(256, 1, 2), np.zeros(1, np.float32)])
    byname = {}
    for layer in model.layers:
        ln = {"d1": "dense_1", "d2": "dense_2"}.get(layer.name, layer.name)
        for var in layer.weights:
            byname["%s/%s:0" % (ln, var.name.rsplit("/", 1)[-1].split(":")[0])] = var
    y = tf.constant([[0.0], [1.0]], FLOATX)
    probe = keras.Model(base.input, [base.get_layer(n).output for n in a["train"]])
    keep = [(v, v.numpy()) for v in model.non_trainable_variables]
    touts = probe(xb, training=True)
    for v, val in keep:
        v.assign(val)
    opt = keras.optimizers.Adam(learning_rate=1e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    tv = model.trainable_variables
    with tf.GradientTape() as tape:
        z = model(xb, training=True)
        p = tf.clip_by_value(tf.sigmoid(z), 1e-7, 1 - 1e-7)
        loss = tf.reduce_mean(-(y * tf.math.log(p) + (1 - y) * tf.math.log(1 - p)))
    grads = tape.gradient(loss, tv)
    gby = {id(v): np.asarray(g) for v, g in zip(tv, grads)}
    frames = [ref_frame("train/loss", [loss.numpy()]),
              ref_frame("train/probs", tf.sigmoid(z).numpy().reshape(-1))]
    frames += [ref_frame("train/" + n, np.asarray(o), 4096, 50 + k) for k, (n, o) in enumerate(zip(a["train"], touts))]
    for k, (n, var) in enumerate(sorted(byname.items())):
        if id(var) not in gby:
            continue
        g = gby[id(var)].astype(np.float64)
        frames.append(ref_frame("train/gnorm/" + n, [np.sqrt((g * g).sum()), g.sum()]))
        frames.append(ref_frame("train/grad/" + n, gby[id(var)], 64, 1000 + k))
    stats = {"%s/%s:0" % (s, w) for s in a["stats"] for w in ("moving_mean", "moving_variance")}
    for n in sorted(stats):
        frames.append(ref_frame("train/param/" + n, byname[n].numpy(), 1024, 7))
    opt.apply_gradients(zip(grads, tv))
    for k, n in enumerate(a["step"]):
        frames.append(ref_frame("train/param/" + n, byname[n].numpy(), 1024, 100 + k))
        frames.append(ref_frame("train/stepgrad/" + n, gby[id(byname[n])], 1024, 100 + k))
    return frames


def make(arch, outdir, imgs, dpath):
    a = ARCHS[arch]
    keras.backend.clear_session()
    keras.backend.set_floatx("float32")
    base = a["build"]()
    h5names = set_formula_weights(base)
    h5path = os.path.join(outdir, "keras_%s_weights.h5" % arch)
    write_h5(base, h5path)
    if FLOATX != "float32":         # the same weights, computed in FLOATX
        keras.backend.clear_session()
        keras.backend.set_floatx(FLOATX)
        base = a["build"]()
        set_formula_weights(base)
    u8 = np.stack([imgs[n] for n in IMAGES])
    xb = a["pre"](u8.astype(FLOATX))
    meta = {
        "kind": "ref_meta", "arch": arch, "size": SIZE,
        "generator": "tests/ref/make_keras_models_fixture.py",
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "preprocess": a["pre_name"],
        "params": int(base.count_params()),
        "trainable": int(sum(np.prod(v.shape) for v in base.trainable_weights)),
        "layers": [l.name for l in base.layers],
        "types": [type(l).__name__ for l in base.layers],
        "h5": h5names,
        "h5_sha256": hashlib.sha256(open(h5path, "rb").read()).hexdigest(),
        "images": {n: hashlib.sha256(open(os.path.join(dpath, "TEST", n + ".png"), "rb").read()).hexdigest() for n in IMAGES},
        "weights": "formula: see make_keras_models_fixture.py (period %d)" % PERIOD,
        "kernel_gain": GAIN, "floatx": FLOATX,
        "train": {"labels": [0, 1], "head": [256, 0.0, 1], "bce_clip": 1e-7,
                  "optimizer": {"type": "adam", "lr": 1e-4, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}},
    }
    frames = [meta, {"kind": "ref", "name": "input", "x": tensor(u8)}]
    frames += forward_frames(base, a, xb)
    frames += train_frames(base, a, xb)
    out = os.path.join(outdir, "keras_%s.mpk" % arch)
    with open(out + ".tmp", "wb") as f:
        for fr in frames:
            f.write(msgpack.packb(fr, use_bin_type=True))
    os.replace(out + ".tmp", out)
    print("wrote %s (%d frames, %d bytes) and %s (%d bytes); %d params" % (
        out, len(frames), os.path.getsize(out), h5path, os.path.getsize(h5path), meta["params"]))


def main():
    outdir = sys.argv[1]
    archs = sys.argv[2:] or list(ARCHS)
    dpath = os.environ["RADPIPE_DATA"]
    imgs = {n: load_image(os.path.join(dpath, "TEST", n + ".png")) for n in IMAGES}
    for arch in archs:
        make(arch, outdir, imgs, dpath)


if __name__ == "__main__":
    main()
