#!/usr/bin/env bash
# Regenerates tests/ref/keras_inception.mpk from Keras itself.  Run by hand,
# not by CI: it needs network access to PyPI once, a few minutes and ~2 GB.
#
#   RADPIPE_WEIGHTS=dir-with-inception_v3_imagenet_notop.h5 \
#   RADPIPE_DATA=dir-with-TEST/chest2.png-and-TEST/abd2.png \
#   tests/ref/make_keras_fixture.sh [out.mpk]
#
# VENV (default /tmp/radpipe-keras-venv) is created when missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${RADPIPE_WEIGHTS:?set RADPIPE_WEIGHTS to the weights directory}"
: "${RADPIPE_DATA:?set RADPIPE_DATA to the Open_I_abd_vs_CXRs directory}"
venv=${VENV:-/tmp/radpipe-keras-venv}
if [ ! -x "$venv/bin/python" ]; then
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q tensorflow-cpu numpy pillow msgpack h5py
fi
export TF_ENABLE_ONEDNN_OPTS=0 TF_CPP_MIN_LOG_LEVEL=2 CUDA_VISIBLE_DEVICES=
exec "$venv/bin/python" "$here/make_keras_fixture.py" "${1:-$here/keras_inception.mpk}"
