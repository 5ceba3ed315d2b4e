#!/usr/bin/env python3
"""Lists the ReLU inputs of a Keras model of make_keras_models_fixture.py
that lie on different sides of a kink (0, and 6 for ReLU6) in Keras float32
and Keras float64, in the training-mode forward pass of the fixture's case
(same weights, images and preprocessing), and the smallest float64 |input|
of each layer relative to its largest.  A flipped element changes the
gradient discontinuously: see KINKS in tests/unit/test_models_parity.c and
tests/ref/README.md.  Diagnostic only; run in the fixture's venv:

    RADPIPE_DATA=... [RADPIPE_FIXTURE_GAIN=6] \\
    VENV/bin/python tests/ref/keras_relu_flips.py [arch] [margin]

Prints one line per flipped element and per layer whose smallest margin
is under margin (default 1e-6) of the layer's largest |input|.
"""
import os
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np                              # noqa: E402
import keras                                    # noqa: E402
import make_keras_models_fixture as F           # noqa: E402


def kinks(layer):
    """The kinks of an activation layer, or None when it is not a ReLU."""
    if isinstance(layer, keras.layers.ReLU):
        return (0.0,) if layer.max_value is None else (0.0, float(layer.max_value))
    if isinstance(layer, keras.layers.Activation) and layer.activation is keras.activations.relu:
        return (0.0,)
    return None


def relu_inputs(arch, floatx, u8):
    """{layer name: (kinks, training-mode input of the ReLU as float64)}."""
    a = F.ARCHS[arch]
    keras.backend.clear_session()
    keras.backend.set_floatx(floatx)
    base = a["build"]()
    F.set_formula_weights(base)
    layers = [l for l in base.layers if kinks(l) is not None]
    feat = keras.Model(base.input, [l.input for l in layers])
    outs = feat(a["pre"](u8.astype(floatx)), training=True)
    return {l.name: (kinks(l), np.asarray(o, np.float64).reshape(-1)) for l, o in zip(layers, outs)}


def main():
    arch = sys.argv[1] if len(sys.argv) > 1 else "densenet121"
    margin = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-6
    dpath = os.environ["RADPIPE_DATA"]
    u8 = np.stack([F.load_image(os.path.join(dpath, "TEST", n + ".png")) for n in F.IMAGES])
    lo = relu_inputs(arch, "float32", u8)
    hi = relu_inputs(arch, "float64", u8)
    flips = 0
    for name, (ks, z) in hi.items():
        z32 = lo[name][1]
        scale = np.abs(z).max()
        near = min(np.abs(z - k).min() for k in ks) / scale
        for k in ks:
            for i in np.where((z32 > k) != (z > k))[0]:
                flips += 1
                print("%s: element %d flips at %g: float64 %.4g, float32 %.4g (layer max %.3g)" %
                      (name, i, k, z[i], z32[i], scale))
        if near < margin:
            print("%s: smallest |input - kink| %.3g of the layer's largest" % (name, near))
    print("%s, kernel gain %g: %d ReLU input(s) on different sides in float32 and float64" %
          (arch, F.GAIN, flips))


if __name__ == "__main__":
    main()
