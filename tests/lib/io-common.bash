# io-common.bash — shared set-up for the bats suites that run the programs
# on streams and images (imgload, batch, peek, stream, jpeg, dicom, nntrain,
# inception_train).  Source it from setup():  load ../lib/io-common
#
#   ROOT BIN T PY     repository root, its bin/, the test's temp dir, a
#                     python3 that has msgpack (Debian's /usr/bin/python3
#                     when the first python3 on PATH lacks it)
#   need_data         skip unless $RADPIPE_DATA holds TRAIN/VAL/TEST
#   mkpng ARGS        tests/lib/mkpng.py
#   mkframes ARGS     tests/lib/mkframes.py (needs numpy)
#   man_examples PAGE the commands of the EXAMPLES section of man page PAGE,
#                     one per line (see extract below)
#   run_split CMD     like bats' run, but stdout and stderr apart: $status,
#                     $T/out (stdout bytes), $T/err, $err (stderr text)

# shellcheck disable=SC2034,SC2015  # variables for the .bats files that load this
ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
BIN="$ROOT/bin"
T="$BATS_TEST_TMPDIR"
PY=python3
$PY -c 'import msgpack' 2>/dev/null || PY=/usr/bin/python3

need_data() {
	[ -n "${RADPIPE_DATA:-}" ] && [ -d "$RADPIPE_DATA/TRAIN" ] ||
		skip "RADPIPE_DATA is not set (the Open-I folder with TRAIN, VAL, TEST)"
}

need_numpy() {
	$PY -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
}

mkpng() { $PY "$ROOT/tests/lib/mkpng.py" "$@"; }
mkframes() { $PY "$ROOT/tests/lib/mkframes.py" "$@"; }
read_stream() { $PY "$ROOT/tests/py/read_stream.py" "$@"; }

run_split() {
	"$@" >"$T/out" 2>"$T/err" && status=0 || status=$?
	err=$(cat "$T/err")
}

# The EXAMPLES of an mdoc page, one command per output line: the lines of
# each .Bd -literal block, where a line ending in \e (a backslash) goes on
# on the next line; \e is a backslash and \& nothing, as in mdoc.
man_examples() {
	awk '
		/^\.Sh / { ex = ($2 == "EXAMPLES"); next }
		ex && /^\.Bd -literal/ { lit = 1; cmd = ""; next }
		ex && lit && /^\.Ed/ { lit = 0; next }
		ex && lit {
			line = $0
			gsub(/\\&/, "", line)
			gsub(/\\e/, "\\", line)
			if (line ~ /\\$/) { cmd = cmd substr(line, 1, length(line) - 1) " "; next }
			cmd = cmd line
			if (cmd !~ /^[ \t]*$/) print cmd
			cmd = ""
		}' "$1"
}
