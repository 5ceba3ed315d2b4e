#!/usr/bin/env bash
# setup-venv.sh — creates bench/venv, the Python environment the benchmarks
# compare radpipe against (PyTorch, torchvision, numpy, Pillow, msgpack,
# scipy).  Shared by every bench/*.sh script; bench/venv is git-ignored.
#   bench/setup-venv.sh                   create or update the venv
#   TORCH_INDEX=URL bench/setup-venv.sh   take torch from this wheel index
#   VENV=DIR PYTHON=python3.11 ...        another place or interpreter
# torch comes from pip's default index (its Linux wheel pulls in the CUDA
# libraries: several GB) unless TORCH_INDEX names a (smaller, CPU-only)
# wheel index that this machine can reach.  Exits 0 when
# `python -c 'import torch, torchvision'` works in the venv.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${VENV:-$here/venv}
index=${TORCH_INDEX:-}
py=${PYTHON:-python3}

[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip() { "$venv/bin/python" -m pip --disable-pip-version-check "$@"; }
pip install --quiet --upgrade pip
pip install --quiet numpy pillow msgpack scipy
if ! "$venv/bin/python" -c 'import torch, torchvision' 2>/dev/null; then
	if [ -n "$index" ]; then
		pip install --quiet --retries 0 --timeout 15 --index-url "$index" torch torchvision
	else
		pip install --quiet torch torchvision
	fi
fi
"$venv/bin/python" -c 'import torch, torchvision, numpy, PIL, msgpack; print("bench venv: torch", torch.__version__, "torchvision", torchvision.__version__)'
