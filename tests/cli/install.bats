#!/usr/bin/env bats
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
	for p in hello-world compare fetch; do [ -x "$D$P/bin/radpipe-$p" ]; done
	[ -s "$D$P/share/man/man5/radpipe-stream.5" ] && [ -s "$D$P/share/man/man7/radpipe.7" ]
	[ -s "$D$P/share/radpipe/weights.md5" ] && [ -s "$D$P/share/radpipe/Open_I_abd_vs_CXRs.sha256" ]
	if [ -e "$ROOT/build/libradpipe_cuda.so" ]; then [ -s "$D$P/lib/radpipe/libradpipe_cuda.so" ]; fi
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
	install_here
	mkdir -p "$T/set/a" "$T/set/b"
	mkpng "$T/set/a/x.png" 8 8 --seed 1
	mkpng "$T/set/b/y.png" 8 8 --seed 2
	"$BIN/imgload" -q --size 32 "$T/set" | "$BIN/batch" 2 > "$T/b.mpk"
	# the loader's first candidate after RADPIPE_CUDA_LIB is <exe>/../lib/radpipe
	run env LD_DEBUG=files "$D$P/bin/nntrain" -q --arch small_cnn --device cuda < "$T/b.mpk"
	[[ "$output" == *"file=$D$P/bin/../lib/radpipe/libradpipe_cuda.so"* ]] || { echo "$output" | grep -i cuda; false; }
}
