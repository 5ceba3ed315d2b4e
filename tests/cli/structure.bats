#!/usr/bin/env bats
# structure.bats — issue 16: the layering and the shared rules the code
# follows, checked on the sources.  Each engineer's tests carry a prefix
# (cli: ...).

bats_require_minimum_version 1.5.0

setup() {
	load ../lib/io-common
}

# item 3: one option table per program; cli_parse builds the getopt table,
# --help and --list-options from it
@test "cli: every program's options come from one table (no struct option, getopt or usage text of its own)" {
	cd "$ROOT"
	bad=$(grep -nE 'struct option\b|\bgetopt(_long)?(_only)?\s*\(|cli_getopt|\blongopts\b|\boptarg\b|usage\[\]' filters/*.c) &&
		{ echo "options outside the table: $bad"; false; }
	for f in filters/*.c; do
		[ "$(grep -c 'cli_parse(' "$f")" -eq 1 ] || { echo "$f: calls cli_parse $(grep -c 'cli_parse(' "$f") times"; false; }
		grep -q 'const struct cli_opt opts\[\] = {' "$f" || { echo "$f: no option table"; false; }
	done
}

# item 3: the groups several programs share are written once, in cli.h
@test "cli: --device, --threads, --precision, --seed, --classes and -o/--output are defined once (cli.h), not per program" {
	cd "$ROOT"
	bad=$(grep -nE 'CLI_[A-Z0-9]+\("(device|threads|precision|seed|classes|output)"' filters/*.c) &&
		{ echo "a shared option defined in a program: $bad"; false; }
	for p in nntrain nninfer; do
		"$BIN/$p" --help | grep -qx '  --device D            cpu (default), ref, cuda or auto'
		"$BIN/$p" --help | grep -qx '  --threads N           CPU threads (default: all cores)'
	done
	[ "$("$BIN/nntrain" --help | grep -A1 -- --precision)" = "$("$BIN/nninfer" --help | grep -A1 -- --precision)" ]
}

# item 4: one helper closes stdout, in every program
@test "cli: every program ends by closing stdout with stdout_finish" {
	cd "$ROOT"
	for f in filters/*.c; do
		grep -q 'stdout_finish();' "$f" || { echo "$f: no stdout_finish"; false; }
	done
}

# item 3/5: --help lists every option of the table, and each program's man
# page names each (check_man: mandoc -Tlint clean too)
@test "cli: every program's man page names each option of its --help" {
	for f in "$ROOT"/filters/*.c; do
		check_man "$(basename "$f" .c)"
	done
}

# the table's parser names what is wrong with an option, for every program
@test "cli: a bad option exits 2 with an empty stdout, saying unknown, missing value or takes no value" {
	for p in $(for f in "$ROOT"/filters/*.c; do basename "$f" .c; done); do
		run --separate-stderr "$BIN/$p" --no-such-option < /dev/null
		[ "$status" -eq 2 ] && [ -z "$output" ]
		[[ "$stderr" == "$p: --no-such-option: unknown option"* ]] || { echo "$p: $stderr"; false; }
		run --separate-stderr "$BIN/$p" -Z < /dev/null
		[ "$status" -eq 2 ] && [ -z "$output" ]
		[[ "$stderr" == "$p: -Z: unknown option"* ]] || { echo "$p: $stderr"; false; }
		run --separate-stderr "$BIN/$p" --quiet=1 < /dev/null
		[ "$status" -eq 2 ] && [ -z "$output" ]
		[[ "$stderr" == "$p: --quiet=1: the option takes no value"* ]] || { echo "$p: $stderr"; false; }
	done
	run --separate-stderr "$BIN/nntrain" --lr
	[ "$status" -eq 2 ] && [ -z "$output" ]
	[[ "$stderr" == "nntrain: --lr: missing value"* ]]
	run --separate-stderr "$BIN/plot" --roc -o
	[ "$status" -eq 2 ] && [ -z "$output" ]
	[[ "$stderr" == "plot: -o: missing value"* ]]
}
