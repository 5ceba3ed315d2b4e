#!/usr/bin/env bats
# The numerical fixtures under tests/ref that a script regenerates with
# Debian's python3 alone: the committed file is what the script writes now.

setup() {
	load ../lib/io-common
}

@test "calibration fixture: tests/ref/calibration_fixture.h is what make_calibration_fixture.py writes" {
	need_numpy
	timeout 60 "$PY" "$ROOT/tests/ref/make_calibration_fixture.py" "$T/fixture.h"
	diff -u "$ROOT/tests/ref/calibration_fixture.h" "$T/fixture.h"
}
