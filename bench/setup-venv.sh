#!/usr/bin/env bash
# setup-venv.sh — creates bench/venv, the Python environment the benchmarks
# compare radpipe against (PyTorch, torchvision, numpy, Pillow, msgpack).
# Shared by every bench/*.sh script; bench/venv is git-ignored.
#   bench/setup-venv.sh            create or update the venv (CPU torch wheels)
#   TORCH_INDEX=URL bench/setup-venv.sh   use another wheel index (e.g. CUDA)
# Exits 0 when `bench/venv/bin/python -c 'import torch, torchvision'` works.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${VENV:-$here/venv}
index=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
py=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
	"$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# torch first from its own index (the CPU wheel is ~200 MB instead of ~2 GB),
# falling back to the default index when that one is unreachable.
"$venv/bin/python" -m pip install --quiet --index-url "$index" \
	--extra-index-url https://pypi.org/simple torch torchvision ||
	"$venv/bin/python" -m pip install --quiet torch torchvision
"$venv/bin/python" -m pip install --quiet numpy pillow msgpack scipy
"$venv/bin/python" -c 'import torch, torchvision, numpy, PIL, msgpack; print("bench venv: torch", torch.__version__, "torchvision", torchvision.__version__)'
