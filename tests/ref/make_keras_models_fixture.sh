#!/usr/bin/env bash
# Regenerates tests/ref/keras_{resnet50,densenet121,mobilenet_v2}.mpk and
# their Keras-written weights (keras_<arch>_weights.h5) from TensorFlow's
# Keras 2 (tensorflow-cpu 2.15.1, the legacy h5 layout of Keras' notop
# files).  Run by hand, not by CI: it needs PyPI once, a few minutes, ~2 GB.
#
#   RADPIPE_DATA=dir-with-TEST/chest2.png-and-TEST/abd2.png \
#   tests/ref/make_keras_models_fixture.sh [outdir [arch ...]]
#
# VENV (default /tmp/radpipe-keras2-venv) is created when missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${RADPIPE_DATA:?set RADPIPE_DATA to the Open_I_abd_vs_CXRs directory}"
venv=${VENV:-/tmp/radpipe-keras2-venv}
if [ ! -x "$venv/bin/python" ]; then
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q tensorflow-cpu==2.15.1 numpy pillow msgpack h5py
fi
export TF_ENABLE_ONEDNN_OPTS=0 TF_CPP_MIN_LOG_LEVEL=2 CUDA_VISIBLE_DEVICES=
out=${1:-$here}
[ $# -eq 0 ] || shift
exec "$venv/bin/python" "$here/make_keras_models_fixture.py" "$out" "$@"
