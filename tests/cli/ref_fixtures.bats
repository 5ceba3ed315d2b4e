#!/usr/bin/env bats
# The numerical fixtures under tests/ref that a script regenerates: the
# committed file is what the script writes now.

setup() {
	load ../lib/io-common
}

@test "calibration fixture: tests/ref/calibration_fixture.h is what make_calibration_fixture.py writes" {
	need_numpy
	timeout 60 "$PY" "$ROOT/tests/ref/make_calibration_fixture.py" "$T/fixture.h"
	diff -u "$ROOT/tests/ref/calibration_fixture.h" "$T/fixture.h"
}

# PyTorch comes from pip (bench/setup-venv.sh), never from CI: skipped
# without it.  The first lines name the torch version; the numbers must agree.
@test "gradcam fixture: tests/ref/gradcam_fixture.h is what make_gradcam_fixture.py writes (PyTorch)" {
	local py="$ROOT/bench/venv/bin/python"
	[ -x "$py" ] && "$py" -c 'import torch' 2>/dev/null ||
		skip "needs PyTorch in bench/venv (bench/setup-venv.sh)"
	timeout 120 "$py" "$ROOT/tests/ref/make_gradcam_fixture.py" "$T/fixture.h"
	diff -u <(tail -n +4 "$ROOT/tests/ref/gradcam_fixture.h") <(tail -n +4 "$T/fixture.h")
}
