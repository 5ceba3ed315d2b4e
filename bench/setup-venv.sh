#!/usr/bin/env bash
# setup-venv.sh — creates bench/venv, the Python environment the benchmarks
# compare radpipe against (PyTorch, torchvision, numpy, Pillow, msgpack,
# scipy).  Shared by every bench/*.sh script; bench/venv is git-ignored.
#   bench/setup-venv.sh                   create or update the venv
#   TORCH_INDEX=URL bench/setup-venv.sh   try this wheel index for torch first
#   VENV=DIR PYTHON=python3.11 ...        another place or interpreter
# The CPU-only torch wheels (about 200 MB) come from TORCH_INDEX when it can
# be reached; otherwise torch comes from the default index (PyPI's Linux
# wheel pulls in the CUDA libraries: several GB).  Exits 0 when
# `python -c 'import torch, torchvision'` works in the venv.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${VENV:-$here/venv}
index=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
py=${PYTHON:-python3}

[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip() { "$venv/bin/python" -m pip --disable-pip-version-check "$@"; }
pip install --quiet --upgrade pip
pip install --quiet numpy pillow msgpack scipy
if ! "$venv/bin/python" -c 'import torch, torchvision' 2>/dev/null; then
	pip install --quiet --retries 0 --timeout 15 --index-url "$index" torch torchvision ||
		{ echo "setup-venv: $index unreachable; installing torch from the default index" >&2
		  pip install --quiet torch torchvision; }
fi
"$venv/bin/python" -c 'import torch, torchvision, numpy, PIL, msgpack; print("bench venv: torch", torch.__version__, "torchvision", torchvision.__version__)'
