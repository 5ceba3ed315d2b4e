# io-common.bash — shared set-up for the bats suites that run the programs
# on streams and images (imgload, batch, peek, stream, jpeg, dicom, nntrain,
# inception_train).  Source it from setup():  load ../lib/io-common
#
#   ROOT BIN T PY     repository root, its bin/, the test's temp dir, a
#                     python3 that has msgpack (Debian's /usr/bin/python3
#                     when the first python3 on PATH lacks it)
#   need_data, need_weights NAME, weights_file NAME
#                     tests/lib/inputs.bash: the images and weights from
#                     $RADPIPE_DATA / $RADPIPE_WEIGHTS, else data/ and
#                     weights/ of the repository (exported when found there)
#   mkpng ARGS        tests/lib/mkpng.py
#   mkframes ARGS     tests/lib/mkframes.py (needs numpy)
#   man_examples PAGE the commands of the EXAMPLES section of man page PAGE,
#                     one per line (see extract below)
#   mem_capped CMD    CMD with about 1 GiB of memory (ulimit -v, or ASan's cap)
#   run_split CMD     like bats' run, but stdout and stderr apart: $status,
#                     $T/out (stdout bytes), $T/err, $err (stderr text)
#   expect_usage_errors PROG INPUT ARGS...
#                     for each ARGS (a word list): bin/PROG ARGS < INPUT
#                     exits 2, writes nothing on stdout, "PROG: ..." on stderr
#   check_man PROG    man/man1/PROG.1 is clean under mandoc -Tlint and names
#                     every option of PROG --help, common ones included
#                     (skips without mandoc)
#   run_man_examples PROG MIN
#                     runs the EXAMPLES of PROG(1), at least MIN of them, in
#                     the current folder with bin/ first on PATH; the last
#                     one's stdout stays in ex.out

# shellcheck disable=SC2034,SC2015  # variables for the .bats files that load this
ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
BIN="${RADPIPE_BIN:-$ROOT/bin}"   # make SAN=1 points it at bin-san
T="$BATS_TEST_TMPDIR"
PY=python3
$PY -c 'import msgpack' 2>/dev/null || PY=/usr/bin/python3

# shellcheck source=tests/lib/inputs.bash
. "$ROOT/tests/lib/inputs.bash"
tests_find_inputs "$ROOT"

need_numpy() {
	$PY -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
}

mkpng() { $PY "$ROOT/tests/lib/mkpng.py" "$@"; }
mkframes() { $PY "$ROOT/tests/lib/mkframes.py" "$@"; }
read_stream() { $PY "$ROOT/tests/py/read_stream.py" "$@"; }

# mem_capped CMD...: CMD with about 1 GiB of memory (ulimit -v); under
# make SAN=1, where ASan cannot run under ulimit -v (it reserves terabytes
# of shadow addresses), ASan's own cap on one allocation instead, without
# the warning ASan prints when it refuses one
mem_capped() {
	if [ -n "${RADPIPE_SAN:-}" ]; then
		local rc
		{ ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1:max_allocation_size_mb=1024" \
			"$@" 2>&1 1>&3 3>&- | grep -v 'WARNING: AddressSanitizer failed to allocate' >&2
		  rc=${PIPESTATUS[0]}; } 3>&1
		return "$rc"
	else
		sh -c 'ulimit -v 1048576; exec "$@"' sh "$@"
	fi
}

run_split() {
	"$@" >"$T/out" 2>"$T/err" && status=0 || status=$?
	err=$(cat "$T/err")
}

expect_usage_errors() {
	local prog=$1 input=$2 args
	shift 2
	for args in "$@"; do
		# shellcheck disable=SC2086  # args is a word list on purpose
		run_split "$BIN/$prog" $args < "$input"
		[ "$status" -eq 2 ] || { echo "'$args': status $status"; false; }
		[ ! -s "$T/out" ] || { echo "'$args': stdout not empty"; false; }
		[[ "$err" == "$prog":* ]] || { echo "'$args': $err"; false; }
	done
}

check_man() {
	local page="$ROOT/man/man1/$1.1" o
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run mandoc -Tlint -W warning "$page"
	[ "$status" -eq 0 ] && [ -z "$output" ] || { echo "$output"; false; }
	# "Fl Fl name" or "Fl \-name" (mdoc's two spellings of --name)
	for o in $("$BIN/$1" --help | grep -o -- '--[a-z0-9-]*' | sort -u); do
		sed 's/\\-/-/g; s/Fl Fl /Fl -/g' "$page" | grep -qE -- "Fl -${o#--}([^a-z0-9-]|$)" ||
			{ echo "undocumented $o"; false; }
	done
}

run_man_examples() {
	local cmd
	man_examples "$ROOT/man/man1/$1.1" > ex.sh
	[ "$(wc -l < ex.sh)" -ge "$2" ]
	while IFS= read -r cmd; do
		echo "example: $cmd"
		PATH="$BIN:$PATH" bash -o pipefail -c "$cmd" > ex.out 2> ex.err || { cat ex.err; false; }
	done < ex.sh
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
