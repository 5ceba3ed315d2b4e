#!/usr/bin/env bats
# shellcheck disable=SC2016  # bash -c '...' scripts are single-quoted on purpose
# A newcomer's first hour (issue 15): make install / make uninstall into a
# temporary DESTDIR, the installed programs, man pages, pipelines, CUDA
# backend and bash completion run from there; the tests' one rule for
# finding the images and weights; the skip reasons of the test summary.

setup() {
	load ../lib/io-common
	D="$T/dest" P=/usr/local
}

# every program, from filters/
programs() { for f in "$ROOT"/filters/*.c; do basename "$f" .c; done; }

install_here() {
	run make --no-print-directory -C "$ROOT" install DESTDIR="$D" PREFIX="$P"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "install: programs, pipelines, man pages and completion under DESTDIR; uninstall removes every file" {
	install_here
	for p in $(programs); do
		[ -x "$D$P/bin/$p" ] || { echo "no $p"; false; }
		[ -s "$D$P/share/bash-completion/completions/$p" ]
		[ -s "$D$P/share/man/man1/$p.1" ]
		run "$D$P/bin/$p" --version
		[ "$status" -eq 0 ] && [[ "$output" == "$p (radpipe) "* ]]
	done
	for p in hello-world train-distributed compare fetch; do [ -x "$D$P/bin/radpipe-$p" ]; done
	[ -s "$D$P/share/man/man5/radpipe-stream.5" ] && [ -s "$D$P/share/man/man7/radpipe.7" ]
	[ -s "$D$P/share/radpipe/weights.md5" ] && [ -s "$D$P/share/radpipe/Open_I_abd_vs_CXRs.sha256" ]
	# (make SAN=1, whose settings reach this make, builds no CUDA backend)
	if [ -z "${RADPIPE_SAN:-}" ] && [ -e "$ROOT/build/libradpipe_cuda.so" ]; then
		[ -s "$D$P/lib/radpipe/libradpipe_cuda.so" ]
	fi
	# nothing of the machine it was built on in the pipelines
	if grep -l "$ROOT" "$D$P"/bin/radpipe-*; then false; fi
	run make --no-print-directory -C "$ROOT" uninstall DESTDIR="$D" PREFIX="$P"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run find "$D" ! -type d
	[ -z "$output" ] || { echo "left behind: $output"; false; }
	[ ! -e "$D$P/lib/radpipe" ] && [ ! -e "$D$P/share/radpipe" ]
}

@test "install: man and apropos find the installed pages after mandb" {
	command -v mandb >/dev/null && command -v apropos >/dev/null || skip "needs man-db"
	install_here
	mandb -q "$D$P/share/man" 2>/dev/null || true
	run env MANPATH="$D$P/share/man" man -w nntrain
	[ "$output" = "$D$P/share/man/man1/nntrain.1" ]
	run env MANPATH="$D$P/share/man" apropos radpipe
	[[ "$output" == *"radpipe (7)"* ]] && [[ "$output" == *"radpipe-stream (5)"* ]]
	for p in $(programs); do [[ "$output" == *"$p (1)"* ]] || { echo "apropos radpipe misses $p"; false; }; done
}

@test "install: radpipe-hello-world runs the installed programs, data from XDG_DATA_HOME/radpipe or ./data" {
	need_data
	install_here
	mkdir -p "$T/xdg/radpipe/data" "$T/work"
	ln -s "$RADPIPE_DATA" "$T/xdg/radpipe/data/Open_I_abd_vs_CXRs"
	cd "$T/work"
	# no repository on PATH, no RADPIPE_DATA: the programs beside the
	# pipeline, the images where radpipe-fetch puts them
	run env -u RADPIPE_DATA -u RADPIPE_WEIGHTS -u BIN PATH=/usr/bin:/bin XDG_DATA_HOME="$T/xdg" \
		ARCH=small_cnn SIZE=64 EPOCHS=1 LR=1e-3 "$D$P/bin/radpipe-hello-world"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ -s results/hello-world/summary.md ] && [ -s results/hello-world/model.mpk ]
	grep -q '^| 1 | ' results/hello-world/summary.md
	# radpipe-train-distributed (one rank) runs the installed radpipe-hello-world
	run env -u RADPIPE_DATA -u RADPIPE_WEIGHTS -u BIN PATH=/usr/bin:/bin XDG_DATA_HOME="$T/xdg" \
		ARCH=small_cnn SIZE=64 EPOCHS=1 LR=1e-3 "$D$P/bin/radpipe-train-distributed" OUT=results/td
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	grep -q '^| 1 | ' results/td/summary.md && grep -q '^RANKS=1$' results/td/settings.txt
	# ./data of the current folder comes before XDG_DATA_HOME (here an
	# incomplete one, so that it shows)
	mkdir data && ln -s "$RADPIPE_DATA/TRAIN" data/TRAIN
	run env -u RADPIPE_DATA PATH=/usr/bin:/bin XDG_DATA_HOME="$T/xdg" "$D$P/bin/radpipe-hello-world" --inputs
	[ "$status" -eq 1 ]
	[[ "$output" == *"no VAL folder in $T/work/data"* ]]
	rm -r data
	# without any: it says how to get them, with the installed command
	run env -u RADPIPE_DATA PATH=/usr/bin:/bin XDG_DATA_HOME="$T/none" "$D$P/bin/radpipe-hello-world"
	[ "$status" -eq 1 ]
	[[ "$output" == *"radpipe-fetch data"* ]]
	# radpipe-compare too
	run env PATH=/usr/bin:/bin "$D$P/bin/radpipe-compare" "$T/cmp" results/hello-world
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	grep -q '^| \[hello-world\]' "$T/cmp/compare.md"
}

@test "install: radpipe-fetch verifies against the installed checksums and puts files in XDG_DATA_HOME/radpipe" {
	install_here
	port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	run env PATH=/usr/bin:/bin XDG_DATA_HOME="$T/xdg" RADPIPE_WEIGHTS_URL="http://127.0.0.1:$port/w.h5" \
		"$D$P/bin/radpipe-fetch" weights
	[ "$status" -eq 1 ]
	[[ "$output" == *"put it at $T/xdg/radpipe/weights/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"* ]]
	[ ! -e "$T/xdg/radpipe/weights" ]
}

@test "install: the installed programs load the CUDA backend from PREFIX/lib/radpipe" {
	[ -e "$ROOT/build/libradpipe_cuda.so" ] || skip "needs the CUDA backend built (CUDA=1)"
	[ -z "${RADPIPE_SAN:-}" ] || skip "needs the CUDA backend built (make SAN=1 builds none)"
	install_here
	mkdir -p "$T/set/a" "$T/set/b"
	mkpng "$T/set/a/x.png" 8 8 --seed 1
	mkpng "$T/set/b/y.png" 8 8 --seed 2
	"$BIN/imgload" -q --size 32 "$T/set" | "$BIN/batch" 2 > "$T/b.mpk"
	# the loader's first candidate after RADPIPE_CUDA_LIB is <exe>/../lib/radpipe
	run env LD_DEBUG=files "$D$P/bin/nntrain" -q --arch small_cnn --device cuda < "$T/b.mpk"
	[[ "$output" == *"file=$D$P/bin/../lib/radpipe/libradpipe_cuda.so"* ]] || { echo "$output" | grep -i cuda; false; }
}

# complete WORDS...: the completion of the last word of the command line
# WORDS (as bash splits it: --val=x is --val, =, x), one reply a line
complete_words() {
	local prog=$1
	bash --norc --noprofile -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		fn=$(complete -p "$1" | sed "s/.*-F \([^ ]*\) .*/\1/")
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' completion "$ROOT/build/bash-completion/$prog" "$@"
}

@test "completion: each program's file lists exactly PROG --list-options, and every option of --help" {
	for p in $(programs); do
		f="$ROOT/build/bash-completion/$p"
		[ -s "$f" ] || { echo "no $f (make builds it)"; false; }
		[ "$(sed -n "s/^	local opts='\(.*\)'$/\1/p" "$f")" = "$("$BIN/$p" --list-options | tr '\n' ' ' | sed 's/ $//')" ]
		grep -q "^complete -F _radpipe_$p $p\$" "$f"
		# the options that begin a line of --help (a line may name several)
		for o in $("$BIN/$p" --help | sed -n 's/^ *\(-.*\)$/\1/p' | sed 's/  .*//' |
			grep -oE -- '(^|[ ,])--?[A-Za-z0-9][A-Za-z0-9-]*' | tr -d ' ,' | sort -u); do
			"$BIN/$p" --list-options | grep -qx -- "$o=\{0,1\}" || { echo "$p: $o of --help is not in --list-options"; false; }
		done
		# and the other way round: every option listed is in --help
		# (but those every program has, from cli_begin)
		for o in $("$BIN/$p" --list-options | sed 's/=$//' | grep -vxE -- '--help|--version|--quiet|-h|-q'); do
			"$BIN/$p" --help | grep -q -- "$o\b" || { echo "$p: $o is not in --help"; false; }
		done
	done
	# --list-options is recognised alone only: with other arguments it is
	# an unknown option like any other
	run "$BIN/batch" 2 --list-options < /dev/null
	[ "$status" -eq 2 ]
}

@test "completion: bash completes option names, and file names for option values and operands" {
	cd "$T"
	mkdir -p d && touch d/model.mpk d/val.mpk
	[ "$(complete_words nntrain --ar)" = --arch ]
	[ "$(complete_words nntrain --fr | sort | tr '\n' ' ')" = "--freeze-base --freeze-until " ]
	[ "$(complete_words nntrain --val d/v)" = d/val.mpk ]
	[ "$(complete_words nntrain --val = d/m)" = d/model.mpk ]
	[ "$(complete_words nninfer --model d/ | sort | tr '\n' ' ')" = "d/model.mpk d/val.mpk " ]
	[ "$(complete_words plot -o d/m)" = d/model.mpk ]
	[ "$(complete_words metrics d/v)" = d/val.mpk ]
	[ "$(complete_words peek --c)" = --count ]
	# choices that --help shows as "--opt a|b|c"
	[ "$(complete_words imgload --interp b)" = bilinear ]
	[ "$(complete_words nntrain --optimizer = | tr '\n' ' ')" = "adam sgd " ]
	[ "$(complete_words imgload --size 6 --unlabeled s)" = skip ]
	# the value of an option that takes one is not taken for an option name
	[ "$(complete_words nntrain --lr -)" = "" ]
}

# Issue 15.8: after make demo (images in data/, weights in weights/) the
# tests find them as the demo does.
@test "tests: the images and weights from RADPIPE_DATA/RADPIPE_WEIGHTS, else data/ and weights/" {
	r="$T/repo"
	mkdir -p "$r/data/Open_I_abd_vs_CXRs/TRAIN" "$r/weights"
	touch "$r/weights/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
	run env -u RADPIPE_DATA -u RADPIPE_WEIGHTS XDG_DATA_HOME="$T/none" bash -c '. "$1/tests/lib/inputs.bash"; tests_find_inputs "$2"
		echo "$RADPIPE_DATA"; echo "$RADPIPE_WEIGHTS"; weights_file inception_v3_imagenet_notop.h5
		weights_file keras2_mobilenet_0.25_notop_fixture.h5 || echo none' x "$ROOT" "$r"
	[ "${lines[0]}" = "$r/data/Open_I_abd_vs_CXRs" ]
	[ "${lines[1]}" = "$r/weights" ]
	[ "${lines[2]}" = "$r/weights/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5" ]
	[ "${lines[3]}" = none ]
	# then XDG_DATA_HOME/radpipe, as the pipelines
	mkdir -p "$T/xdg/radpipe/data/TRAIN" "$T/xdg/radpipe/weights"
	run env -u RADPIPE_DATA -u RADPIPE_WEIGHTS XDG_DATA_HOME="$T/xdg" bash -c '. "$1/tests/lib/inputs.bash"; tests_find_inputs "$2"
		echo "$RADPIPE_DATA $RADPIPE_WEIGHTS"' x "$ROOT" "$T/elsewhere"
	[ "$output" = "$T/xdg/radpipe/data $T/xdg/radpipe/weights" ]
	# the variables win, even when wrong (the tests then skip and say so)
	run env RADPIPE_DATA=/nonexistent RADPIPE_WEIGHTS="$T" bash -c '. "$1/tests/lib/inputs.bash"; tests_find_inputs "$2"
		echo "$RADPIPE_DATA $RADPIPE_WEIGHTS"' x "$ROOT" "$r"
	[ "$output" = "/nonexistent $T" ]
	# the C unit tests follow the same rule (tu_weights_file): from a folder
	# whose weights/ holds the file under Keras' name, test_inception finds it
	[ -x "$ROOT/build/tests/test_inception" ] || skip "build/tests/test_inception is not built (make unit)"
	w=$(weights_file inception_v3_imagenet_notop.h5) || skip "needs RADPIPE_WEIGHTS (or weights/) for the C half"
	ln -sf "$w" "$r/weights/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
	cd "$r"
	run env -u RADPIPE_WEIGHTS XDG_DATA_HOME="$T/none" "$ROOT/build/tests/test_inception"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" != *SKIP* ]] && [[ "$output" == *"[       OK ] test_against_h5"* ]]
	rm "$r/weights/"*
	run env -u RADPIPE_WEIGHTS XDG_DATA_HOME="$T/none" "$ROOT/build/tests/test_inception"
	[[ "$output" == *"SKIP: needs RADPIPE_WEIGHTS"* ]]
}

@test "tests: no test reads RADPIPE_DATA or RADPIPE_WEIGHTS but through the one rule" {
	cd "$ROOT/tests"
	run grep -ln 'getenv("RADPIPE_\(DATA\|WEIGHTS\)")' unit/*.c
	[ "$output" = unit/testutil.c ]
	run grep -ln '\${RADPIPE_''WEIGHTS:-}/' cli/*.bats lib/*.bash
	[ -z "$output" ] || { echo "$output"; false; }
}

@test "tests: the summary line counts the skipped tests by reason" {
	printf '3 0 2\nskip\tSKIP: needs RADPIPE_WEIGHTS (or weights/): x\nskip\tSKIP: needs a GPU: no device\n' > "$T/r"
	printf '4 1 3\nskip\tneeds RADPIPE_DATA (or data/): y\nskip\tneeds RADPIPE_WEIGHTS (or weights/) holding z.h5\nskip\tmandoc is not installed\n' >> "$T/r"
	run "$ROOT/tests/summary" test "$T/r"
	[ "$output" = "test: 7 passed, 1 failed, 5 skipped (2 need RADPIPE_WEIGHTS, 1 need a GPU, 1 need RADPIPE_DATA, 1 need mandoc)" ]
	printf '2 0 0\n' > "$T/r"
	run "$ROOT/tests/summary" test "$T/r"
	[ "$output" = "test: 2 passed, 0 failed, 0 skipped" ]
	# run-cli takes the reasons from bats' TAP output
	# (written with printf: bats rewrites lines starting with @test, even
	# in a here-document)
	t=@test
	printf '%s "a" { true; }\n%s "b" { skip "needs RADPIPE_DATA (or data/)"; }\n%s "c" { skip "needs a GPU: none here"; }\n%s "d" { skip; }\n' \
		"$t" "$t" "$t" "$t" > "$T/s.bats"
	run env -u TEST_RESULTS "$ROOT/tests/run-cli" "$T/s.bats"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "${lines[${#lines[@]}-1]}" = "cli: 1 passed, 0 failed, 3 skipped (1 need RADPIPE_DATA, 1 need a GPU, 1 no reason given)" ]
	# and run-unit from the binaries' SKIP lines, appending to TEST_RESULTS
	printf '#!/bin/sh\necho "SKIP: needs a GPU: none"\n' > "$T/u1" && printf '#!/bin/sh\nexit 0\n' > "$T/u2"
	chmod +x "$T/u1" "$T/u2"
	rm -f "$T/results"
	run env TEST_RESULTS="$T/results" "$ROOT/tests/run-unit" "$T/u1" "$T/u2"
	[ "$status" -eq 0 ]
	[ "${lines[${#lines[@]}-1]}" = "unit: 1 passed, 0 failed, 1 skipped (1 need a GPU)" ]
	run "$ROOT/tests/summary" test "$T/results"
	[ "$output" = "test: 1 passed, 0 failed, 1 skipped (1 need a GPU)" ]
}

@test "install: the generator, the generated completion and the test runners are shellcheck-clean" {
	command -v shellcheck >/dev/null || skip "needs shellcheck"
	cd "$ROOT"
	shellcheck completion/mkcompletion tests/summary tests/run-unit tests/run-cli tests/lib/inputs.bash
	for p in $(programs); do shellcheck -s bash "build/bash-completion/$p"; done
	shellcheck -s bash "$BATS_TEST_FILENAME"
}
