#!/usr/bin/env bats
# Issue 18.5: many seeds.  make -C pipelines seeds runs pipelines/hello-world
# once per seed (into the folders `make hello-world SEED=K` makes) and
# pipelines/seeds writes seeds.md and seeds.png across them.  The table's
# numbers are checked against the runs' streams read by python3-msgpack
# (tests/lib/seeds_check.py).  The small CNN at 64x64 for 3 epochs, a few
# seconds a run.

setup() {
	load ../lib/io-common
	# the programs the pipelines run: bin/, or bin-san/ under make SAN=1
	[ -z "${RADPIPE_BIN:-}" ] || export BIN
	SETTINGS=(ARCH=small_cnn SIZE=64 LR=3e-3 EPOCHS=3)
	TAG=+EPOCHS-3+SIZE-64+ARCH-small_cnn+LR-3e-3
}

# run_dir K: the folder of seed K's run under $T/res
run_dir() {
	if [ "$1" = 1 ]; then echo "$T/res/hello-world$TAG"
	else echo "$T/res/hello-world+EPOCHS-3+SEED-$1+SIZE-64+ARCH-small_cnn+LR-3e-3"; fi
}

is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && [ "$(stat -c %s "$1")" -gt 1000 ]; }

# val_losses DIR: the val_loss of each epoch of DIR's history
val_losses() { "$BIN/peek" --width 1000 "$1/history.mpk" | grep -o ' val_loss=[^ ]*'; }

@test "seeds: the scripts are shellcheck-clean" {
	shellcheck "$ROOT/pipelines/seeds" "$ROOT/pipelines/compare"
	shellcheck -s bash "$ROOT/pipelines/lib.bash" "$BATS_TEST_FILENAME"
}

# A reader that stops early (head) kills the writer with SIGPIPE once its
# output passes a pipe's buffer or the writer is slow to write it, and under
# pipefail that fails the run (a make seeds run failed so, in hello-world's
# augment.png step).
@test "pipelines: no pipe under pipefail ends in head" {
	for f in "$ROOT"/pipelines/*; do
		grep -q '^set .*pipefail' "$f" || continue
		run grep -n '|[[:space:]]*head\b' "$f"
		[ "$status" -eq 1 ] || { echo "$f: $output"; false; }
	done
	# what it guards against
	run bash -c 'set -o pipefail; seq 200000 | sort | head -1 > /dev/null'
	[ "$status" -eq 141 ]
}

@test "seeds: N=2 runs two seeds; the table agrees with their streams; seeds.png; a re-run trains nothing" {
	need_data
	args=(-C "$ROOT/pipelines" RESULTS="$T/res" "${SETTINGS[@]}")
	run timeout 600 make "${args[@]}" seeds N=2
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *"== seed 2: hello-world+EPOCHS-3+SEED-2+"* ]]
	s=$T/res/seeds$TAG
	[ -s "$s/seeds.md" ] && is_png "$s/seeds.png"
	# seed K's folder is the one `make hello-world SEED=K` names
	[ "$(make -s "${args[@]}" SEED=2 tag)" = "$(basename "$(run_dir 2)" | sed 's/^hello-world//')" ]
	grep -qx SEED=1 "$(run_dir 1)/settings.txt" && grep -qx SEED=2 "$(run_dir 2)/settings.txt"
	$PY "$ROOT/tests/lib/seeds_check.py" "$s/seeds.md" "$(run_dir 1)" "$(run_dir 2)"
	grep -q '^- time of a run (seconds): [0-9]* ± [0-9]* ([0-9]* to [0-9]*); all 2 runs: ' "$s/seeds.md"
	grep -q '^- first epoch at val_acc 1: .*, over the [0-2] of 2 seeds that reached it$' "$s/seeds.md"
	grep -q "^| 2 | \[hello-world+EPOCHS-3+SEED-2+.*\](../hello-world+EPOCHS-3+SEED-2+.*/summary.md) | " "$s/seeds.md"
	# the seed reaches the training: the two runs differ
	[ "$(val_losses "$(run_dir 1)")" != "$(val_losses "$(run_dir 2)")" ]

	# nothing changed: nothing runs, not even the table
	before=$(sha256sum "$(run_dir 1)"/*.mpk "$(run_dir 2)"/*.mpk "$s/seeds.md")
	run timeout 600 make "${args[@]}" seeds N=2
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" != *"[2/7]"* ]] && [[ "$output" != *"seeds: "* ]] || { echo "$output"; false; }
	[ "$(sha256sum "$(run_dir 1)"/*.mpk "$(run_dir 2)"/*.mpk "$s/seeds.md")" = "$before" ]

	# other seeds: seed 2 is reused, seed 3 runs, the table is made again
	run timeout 600 make "${args[@]}" seeds SEEDS="2 3"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *"== seed 3: "* ]] && [[ "$output" != *"== seed 2: "* ]] || { echo "$output"; false; }
	[ "$(grep -c '^| [0-9] | \[hello-world' "$s/seeds.md")" -eq 2 ]
	grep -q '^| 3 | ' "$s/seeds.md"
	if grep -q '^| 1 | \[' "$s/seeds.md"; then false; fi
	$PY "$ROOT/tests/lib/seeds_check.py" "$s/seeds.md" "$(run_dir 2)" "$(run_dir 3)"

	# a seed determines its run: seed 2 again, elsewhere, gives the same history
	run env "${SETTINGS[@]}" SEED=2 OUT="$T/again" timeout 600 "$ROOT/pipelines/hello-world"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(val_losses "$T/again")" = "$(val_losses "$(run_dir 2)")" ]

	# installed: radpipe-seeds with the installed programs and lib.bash
	run make --no-print-directory -C "$ROOT" install DESTDIR="$T/dest" PREFIX=/usr/local
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run env -u BIN PATH=/usr/bin:/bin "$T/dest/usr/local/bin/radpipe-seeds" "$T/inst" "$(run_dir 2)" "$(run_dir 3)"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	diff "$s/seeds.md" "$T/inst/seeds.md"
	is_png "$T/inst/seeds.png"
}

# Runs of make -j share results/cache: each writes its decoded images under
# a name of its own, then renames (before, both wrote cache/val-64.mpk.tmp
# and one's mv failed, "cannot stat", while the other read a file being
# rewritten).
@test "seeds: make -j2 runs two seeds at once; they share the cache safely" {
	need_data
	run timeout 600 make -j2 -C "$ROOT/pipelines" RESULTS="$T/res" ARCH=small_cnn SIZE=64 EPOCHS=1 seeds N=2
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" != *"cannot stat"* ]] || { echo "$output"; false; }
	[ "$(cd "$T/res/cache" && echo *)" = "test-64.mpk test-64.mpk.key val-64.mpk val-64.mpk.key" ]
	read_stream < "$T/res/cache/val-64.mpk" | grep -qx 'frames 10'
	is_png "$T/res/seeds+EPOCHS-1+SIZE-64+ARCH-small_cnn/seeds.png"
}

@test "seeds: runs of other settings, unfinished runs, a seed twice and bad N are refused" {
	for k in 1 2 3; do
		mkdir -p "$T/r$k"
		printf 'EPOCHS=3\nSEED=%s\nSIZE=64\n' "$k" > "$T/r$k/settings.txt"
		echo finished > "$T/r$k/summary.md"
	done
	sed -i 's/^SIZE=64$/SIZE=128/' "$T/r3/settings.txt"
	run "$ROOT/pipelines/seeds" "$T/out" "$T/r1" "$T/r3"
	[ "$status" -eq 1 ]
	[[ "$output" == "seeds: $T/r3 was run with other settings than $T/r1 (not only SEED): SIZE=128" ]]
	run "$ROOT/pipelines/seeds" "$T/out" "$T/r1" "$T/none"
	[ "$status" -eq 1 ]
	[[ "$output" == "seeds: $T/none: not a finished run of pipelines/hello-world"* ]]
	cp -R "$T/r2" "$T/r2b"
	run "$ROOT/pipelines/seeds" "$T/out" "$T/r1" "$T/r2" "$T/r2b"
	[ "$status" -eq 1 ]
	[[ "$output" == "seeds: seed 2 is run more than once"* ]]
	[ ! -e "$T/out" ]
	run "$ROOT/pipelines/seeds" "$T/out"
	[ "$status" -eq 2 ]
	[[ "$output" == "usage: seeds OUTDIR RESULTDIR..." ]]
	for bad in N=0 N=abc N=2.5 "SEEDS=1 x" "SEEDS=3 3" SEEDS=07 "SEEDS="; do
		run make -C "$ROOT/pipelines" RESULTS="$T/res" seeds "$bad"
		[ "$status" -ne 0 ] || { echo "$bad: $output"; false; }
		[[ "$output" == *"pipelines: "*"seed"* ]] || { echo "$bad: $output"; false; }
	done
	[ ! -e "$T/res" ]
}
