#!/usr/bin/env bash
# Regenerates tests/ref/gradcam_fixture.h from PyTorch.  Run by hand, not
# by CI: bench/setup-venv.sh creates bench/venv (pip: torch, numpy) when
# it is missing, which needs network access to PyPI once.
#
#   tests/ref/make_gradcam_fixture.sh [out.h]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${VENV:-$here/../../bench/venv}
if ! "$venv/bin/python" -c 'import torch, numpy' 2>/dev/null; then
	VENV=$venv "$here/../../bench/setup-venv.sh"
fi
exec "$venv/bin/python" "$here/make_gradcam_fixture.py" "${1:-$here/gradcam_fixture.h}"
