#!/usr/bin/env bats
# The newcomer's path (issue 8): make demo / pipelines/hello-world end to
# end, the experiments Makefile, make data / make weights (pipelines/fetch)
# against a loopback HTTP server, the scripts' lint, radpipe(7).
#
# Data from $RADPIPE_DATA (the Open_I_abd_vs_CXRs folder), weights from
# $RADPIPE_WEIGHTS (a folder or an .h5 file), else from data/ and weights/
# of the repository (tests/lib/inputs.bash); the tests that need them skip
# when there are none.  The InceptionV3 demo runs 1 epoch (a few minutes on
# two cores); the rest uses the small CNN at 64x64.

setup() {
	ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
	T="$BATS_TEST_TMPDIR"
	# the programs the pipelines run: bin/, or bin-san/ under make SAN=1
	[ -z "${RADPIPE_BIN:-}" ] || export BIN="$RADPIPE_BIN"
	SERVER_PID=
	PY=python3
}

teardown() {
	if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
}

# need_data, need_weights NAME, weights_file NAME: the one rule of the tests
# shellcheck disable=SC1091
. "$BATS_TEST_DIRNAME/../lib/inputs.bash"
tests_find_inputs "$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"

free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# serve DIR: a loopback HTTP server for DIR on $PORT, stopped by teardown
serve() {
	PORT=$(free_port)
	$PY -m http.server --bind 127.0.0.1 --directory "$1" "$PORT" >"$T/http.log" 2>&1 3>&- &
	SERVER_PID=$!
	for _ in $(seq 100); do
		$PY -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$PORT" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "the test's HTTP server did not start" >&2
	return 1
}

# make_zip DIR ZIP: ZIP holds DIR's images as the tutorial's repository
# archive does (<repo>-master/Open_I_abd_vs_CXRs/...)
make_zip() {
	mkdir -p "$T/zip/Hello_World_Deep_Learning-master"
	cp -R "$1" "$T/zip/Hello_World_Deep_Learning-master/Open_I_abd_vs_CXRs"
	(cd "$T/zip" && $PY -m zipfile -c "$2" Hello_World_Deep_Learning-master)
	rm -rf "$T/zip"
}

# listing DIR: every path under DIR with its size (empty when DIR is absent)
listing() { [ ! -e "$1" ] || (cd "$1" && find . -printf '%p %s\n' | LC_ALL=C sort); }

is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && [ "$(stat -c %s "$1")" -gt 1000 ]; }

# check_results DIR: the files of a finished run and what summary.md says
check_results() {
	local d=$1 f
	for f in model.mpk checkpoint.mpk history.mpk val-predictions.mpk val-metrics.mpk \
		test-predictions.mpk metrics.txt settings.txt summary.md leakcheck.tsv; do
		[ -s "$d/$f" ] || { echo "missing: $d/$f" >&2; return 1; }
	done
	for f in curves.png roc.png reliability.png test-images.png val-images.png cam.png; do
		is_png "$d/$f" || { echo "not a PNG: $d/$f" >&2; return 1; }
	done
	grep -q '^| 1 | [0-9.]* | [0-9.]* | [0-9.]* | [0-9.]* |' "$d/summary.md"
	grep -q '^| accuracy | [0-9.]* | ' "$d/summary.md"
	grep -q '^| auc | [0-9.]* | ' "$d/summary.md"
	grep -q '^| chest2.png | [0-9.]* | openI_' "$d/summary.md"
	grep -q '^| abd2.png | [0-9.]* | openI_' "$d/summary.md"
	grep -q 'Total time: [0-9]*m[0-9][0-9]s' "$d/summary.md"
	grep -q '^Grad-CAM (layer [a-z0-9_]*): \[cam.png\](cam.png)$' "$d/summary.md"
	# issue 18: the leakage check on the tutorial's sets (its VAL holds one
	# image twice) and the calibration figures
	grep -q '^\*\*No image of one set was found in another\.\*\*\|Every image of TRAIN, VAL and TEST' "$d/summary.md"
	grep -q '^- exact within a set: VAL/openI_abd_xray/PMC2584007_1752-1947-2-335-2 (1).png and VAL/' "$d/summary.md"
	grep -q '^| 10 equal-width | [0-9.]* | [0-9.]* | [0-9.]* |' "$d/summary.md"
}

@test "demo: the scripts are shellcheck-clean" {
	shellcheck "$ROOT"/pipelines/{hello-world,fetch,deps,compare}
	shellcheck -s bash "$BATS_TEST_FILENAME"
}

@test "demo: radpipe(7) is clean under mandoc -Tlint and lists every program" {
	run mandoc -Tlint -W warning "$ROOT/man/man7/radpipe.7"
	[ "$status" -eq 0 ] && [ -z "$output" ] || { echo "$output"; false; }
	for f in "$ROOT"/filters/*.c; do
		grep -q "^\.Xr $(basename "$f" .c) 1" "$ROOT/man/man7/radpipe.7"
	done
	grep -q '^\.Xr radpipe-stream 5' "$ROOT/man/man7/radpipe.7"
}

@test "demo: the Debian package list is one file, read by pipelines/deps" {
	run "$ROOT/pipelines/deps" --list
	[ "$status" -eq 0 ]
	for p in libpng-dev gnuplot-nox unzip curl; do grep -qx "$p" <<<"$output"; done
	if grep -q '#' <<<"$output"; then false; fi
}

@test "fetch data: a good zip from a loopback server is unpacked and verified" {
	need_data
	mkdir -p "$T/srv"
	make_zip "$RADPIPE_DATA" "$T/srv/master.zip"
	serve "$T/srv"
	RADPIPE_DATA_URL="http://127.0.0.1:$PORT/master.zip" run "$ROOT/pipelines/fetch" data "$T/data"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(find "$T/data/Open_I_abd_vs_CXRs" -type f | wc -l)" -eq 77 ]
	sed -E 's/^([0-9a-f]{64})  +[0-9]+  +/\1  /' "$ROOT/pipelines/Open_I_abd_vs_CXRs.sha256" | (cd "$T/data" && sha256sum --quiet -c -)
	[ -z "$(find "$T/data" -name '.*' ! -name . )" ]
	# a second run finds it and downloads nothing
	RADPIPE_DATA_URL="http://127.0.0.1:1/none.zip" run "$ROOT/pipelines/fetch" data "$T/data"
	[ "$status" -eq 0 ]
	[[ "$output" == *"already there and verified"* ]]
}

@test "fetch data: a corrupted download is refused and nothing is installed" {
	need_data
	mkdir -p "$T/srv" "$T/bad" "$T/data"
	cp -R "$RADPIPE_DATA" "$T/bad/Open_I_abd_vs_CXRs"
	printf 'x' >> "$T/bad/Open_I_abd_vs_CXRs/TEST/chest2.png"
	make_zip "$T/bad/Open_I_abd_vs_CXRs" "$T/srv/master.zip"
	echo keep > "$T/data/mine.txt"
	before=$(listing "$T/data")
	serve "$T/srv"
	RADPIPE_DATA_URL="http://127.0.0.1:$PORT/master.zip" run "$ROOT/pipelines/fetch" data "$T/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"checksum mismatch: TEST/chest2.png"* ]]
	[[ "$output" == *"nothing was installed"* ]]
	[[ "$output" == *"RADPIPE_DATA="* ]]
	[ "$(listing "$T/data")" = "$before" ]
}

@test "fetch data: an unreachable server gives the offline message and installs nothing" {
	port=$(free_port)
	RADPIPE_DATA_URL="http://127.0.0.1:$port/master.zip" run "$ROOT/pipelines/fetch" data "$T/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot reach http://127.0.0.1:$port/master.zip"* ]]
	[[ "$output" == *"set RADPIPE_DATA=/path/to/Open_I_abd_vs_CXRs"* ]]
	[ ! -e "$T/data" ]
}

@test "fetch data: a zip without the images is refused" {
	mkdir -p "$T/srv" "$T/z/repo-master"
	echo hello > "$T/z/repo-master/README.md"
	(cd "$T/z" && $PY -m zipfile -c "$T/srv/master.zip" repo-master)
	serve "$T/srv"
	RADPIPE_DATA_URL="http://127.0.0.1:$PORT/master.zip" run "$ROOT/pipelines/fetch" data "$T/data"
	[ "$status" -eq 1 ]
	[[ "$output" == *"holds no Open_I_abd_vs_CXRs folder"* ]]
	[ ! -e "$T/data" ]
}

@test "fetch weights: verified by md5, then installed; a mismatch and a 404 install nothing" {
	mkdir -p "$T/srv"
	head -c 100000 /dev/urandom > "$T/srv/w.h5"
	sum=$(md5sum < "$T/srv/w.h5" | cut -d' ' -f1)
	serve "$T/srv"
	export RADPIPE_WEIGHTS_URL="http://127.0.0.1:$PORT/w.h5"

	RADPIPE_WEIGHTS_MD5=0123456789abcdef0123456789abcdef run "$ROOT/pipelines/fetch" weights "$T/w"
	[ "$status" -eq 1 ]
	[[ "$output" == *"checksum mismatch"* ]]
	[[ "$output" == *"nothing was installed"* ]]
	[ ! -e "$T/w" ]

	RADPIPE_WEIGHTS_URL="http://127.0.0.1:$PORT/nothere.h5" RADPIPE_WEIGHTS_MD5=$sum run "$ROOT/pipelines/fetch" weights "$T/w"
	[ "$status" -eq 1 ]
	[[ "$output" == *"failed"* ]]
	[[ "$output" == *"RADPIPE_WEIGHTS="* ]]
	[ ! -e "$T/w" ]

	RADPIPE_WEIGHTS_MD5=$sum run "$ROOT/pipelines/fetch" weights "$T/w"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	cmp "$T/srv/w.h5" "$T/w/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
	[ "$(ls -A "$T/w")" = inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 ]
}

@test "fetch weights: an unreachable server gives the offline message" {
	port=$(free_port)
	RADPIPE_WEIGHTS_URL="http://127.0.0.1:$port/w.h5" run "$ROOT/pipelines/fetch" weights "$T/w"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot reach"* ]]
	[[ "$output" == *"offline"* ]]
	[[ "$output" == *"put it at $T/w/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"* ]]
	[ ! -e "$T/w" ]
}

@test "fetch weights --arch: Keras' file name and md5 per architecture; no md5 known: a warning and the sha256" {
	mkdir -p "$T/srv"
	head -c 50000 /dev/urandom > "$T/srv/w.h5"
	sum=$(md5sum < "$T/srv/w.h5" | cut -d' ' -f1)
	sha=$(sha256sum < "$T/srv/w.h5" | cut -d' ' -f1)
	serve "$T/srv"
	u="http://127.0.0.1:$PORT/w.h5"

	RADPIPE_WEIGHTS_URL=$u run "$ROOT/pipelines/fetch" weights --arch vgg16 "$T/w"
	[ "$status" -eq 2 ] && [[ "$output" == *"unknown vgg16"* ]]
	# resnet50 and densenet121: Keras' md5 (pipelines/weights.md5), which random bytes fail
	for a in resnet50 densenet121; do
		RADPIPE_WEIGHTS_URL=$u run "$ROOT/pipelines/fetch" weights --arch $a "$T/w"
		[ "$status" -eq 1 ] && [[ "$output" == *"checksum mismatch"* ]]
		[ ! -e "$T/w" ]
	done
	grep -q '^4d473c1dd8becc155b73f8504c6f6626  resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5$' "$ROOT/pipelines/weights.md5"
	grep -q '^30ee3e1110167f948a6b9946edeeb738  densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5$' "$ROOT/pipelines/weights.md5"
	RADPIPE_WEIGHTS_MD5=$sum RADPIPE_WEIGHTS_URL=$u run "$ROOT/pipelines/fetch" weights --arch resnet50 "$T/w"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	cmp "$T/srv/w.h5" "$T/w/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
	# mobilenet_v2: Keras checks nothing; installed with a warning, or pinned by sha256
	RADPIPE_WEIGHTS_SHA256=0000 RADPIPE_WEIGHTS_URL=$u run "$ROOT/pipelines/fetch" weights --arch mobilenet_v2 "$T/m"
	[ "$status" -eq 1 ] && [[ "$output" == *"checksum mismatch"* ]] && [ ! -e "$T/m" ]
	RADPIPE_WEIGHTS_URL=$u run "$ROOT/pipelines/fetch" weights --arch mobilenet_v2 "$T/m"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *"no checksum"*"$sha"* ]]
	cmp "$T/srv/w.h5" "$T/m/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
	RADPIPE_WEIGHTS_SHA256=$sha RADPIPE_WEIGHTS_URL=$u run "$ROOT/pipelines/fetch" weights --arch mobilenet_v2 "$T/m"
	[ "$status" -eq 0 ] && [[ "$output" == *"already there and verified"* ]]
}

@test "hello-world: without data it says how to get it, and writes nothing" {
	RADPIPE_DATA="$T/nothing" OUT="$T/out" run "$ROOT/pipelines/hello-world"
	[ "$status" -eq 1 ]
	[[ "$output" == *"make data"* ]]
	[[ "$output" == *"RADPIPE_DATA"* ]]
	[ ! -e "$T/out" ]
}

@test "hello-world: the small CNN at 64x64 end to end; VAL and TEST decoded once" {
	need_data
	ARCH=small_cnn SIZE=64 EPOCHS=2 LR=1e-3 OUT="$T/r/small" run "$ROOT/pipelines/hello-world"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	for i in 1 2 3 4 5 6 7; do [[ "$output" == *"[$i/7] "* ]]; done
	check_results "$T/r/small"
	grep -q '^| 2 | ' "$T/r/small/summary.md"
	grep -q 'small_cnn has no pretrained weights' "$T/r/small/summary.md"
	grep -q 'A reduced run: 2 of' "$T/r/small/summary.md"
	[ -s "$T/r/cache/val-64.mpk" ]
	[ -s "$T/r/cache/test-64.mpk" ]
	touch -d '2000-01-01' "$T/r/cache/val-64.mpk"
	ARCH=small_cnn SIZE=64 EPOCHS=1 LR=1e-3 AUGMENT=none OUT="$T/r/again" run "$ROOT/pipelines/hello-world"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(stat -c %Y "$T/r/cache/val-64.mpk")" = "$(date -d '2000-01-01' +%s)" ]
	grep -q '^AUGMENT=none$' "$T/r/again/settings.txt"
}

@test "pipelines/Makefile: an experiment runs once, again only when a setting changes; compare" {
	need_data
	args=(-C "$ROOT/pipelines" RESULTS="$T/res" ARCH=small_cnn SIZE=64 LR=1e-3)
	tag1=+EPOCHS-1+SIZE-64+ARCH-small_cnn+LR-1e-3 tag2=+EPOCHS-2+SIZE-64+ARCH-small_cnn+LR-1e-3
	run make "${args[@]}" EPOCHS=1 no-augment
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	check_results "$T/res/no-augment$tag1"
	grep -q '^AUGMENT=none$' "$T/res/no-augment$tag1/settings.txt"
	run make "${args[@]}" EPOCHS=1 no-augment
	[ "$status" -eq 0 ]
	[[ "$output" != *"[2/7]"* ]]
	run make "${args[@]}" EPOCHS=2 COMPARE="no-augment freeze-base" compare
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *"experiment no-augment$tag2"* ]]
	[[ "$output" == *"experiment freeze-base$tag2"* ]]
	grep -q "^| \[no-augment$tag2\](../no-augment$tag2/summary.md) | random init, no augmentation, small_cnn at 64, lr 1e-3 | 2 | " "$T/res/compare$tag2/compare.md"
	grep -q "^| \[freeze-base$tag2\](../freeze-base$tag2/summary.md) | random init, --freeze-base, small_cnn at 64, lr 1e-3 | 2 | " "$T/res/compare$tag2/compare.md"
	is_png "$T/res/compare$tag2/compare.png"
}

# Issue 14.10: runs with other settings do not replace each other.
@test "pipelines/Makefile: a run with other settings keeps the earlier one; settings equal to the defaults name no folder" {
	need_data
	args=(-C "$ROOT/pipelines" RESULTS="$T/res" ARCH=small_cnn SIZE=64 LR=1e-3 AUGMENT=none)
	tag=+SIZE-64+ARCH-small_cnn+LR-1e-3+AUGMENT-none
	run make "${args[@]}" EPOCHS=2 hello-world
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	before=$(listing "$T/res/hello-world+EPOCHS-2$tag"; sha256sum "$T/res/hello-world+EPOCHS-2$tag"/*.mpk)
	run make "${args[@]}" EPOCHS=1 hello-world
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	check_results "$T/res/hello-world+EPOCHS-1$tag"
	[ "$(listing "$T/res/hello-world+EPOCHS-2$tag"; sha256sum "$T/res/hello-world+EPOCHS-2$tag"/*.mpk)" = "$before" ]
	grep -q '^EPOCHS=2$' "$T/res/hello-world+EPOCHS-2$tag/settings.txt"
	grep -q '^EPOCHS=1$' "$T/res/hello-world+EPOCHS-1$tag/settings.txt"
	# the paper's values, given or not, name the same folder
	run make -s -C "$ROOT/pipelines" EPOCHS=20 SEED=1 DEVICE=cpu AUGMENT="--rotate 20 --shift 0.2 --shear-rad 0.2 --zoom 0.2 --hflip" tag
	[ "$output" = "" ]
	run make -s -C "$ROOT/pipelines" EPOCHS=5 TRAIN_OPTS="--freeze-until mixed7" tag
	[ "$output" = "+EPOCHS-5+TRAIN_OPTS---freeze-until_mixed7" ]
	# the Makefile's defaults are the pipeline's
	run env -u EPOCHS -u SEED -u SIZE -u ARCH -u PREPROCESS -u LR -u BATCH -u AUGMENT -u TRAIN_OPTS \
		-u DEVICE -u TEST_IMAGES -u WEIGHTS "$ROOT/pipelines/hello-world" --inputs
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	diff <(grep -v '^WEIGHTS=' <<<"$output" | grep '^[A-Z_]*=' | grep -v '^THREADS=' | sort) \
		<(env -u EPOCHS -u SEED -u SIZE -u ARCH -u PREPROCESS -u LR -u BATCH -u AUGMENT -u TRAIN_OPTS \
			-u DEVICE -u TEST_IMAGES -u WEIGHTS make -s -C "$ROOT/pipelines" defaults | grep -v '^WEIGHTS=' | sort)
}

@test "make demo: InceptionV3 with the ImageNet weights, 1 epoch, end to end" {
	need_data
	need_weights inception_v3_imagenet_notop.h5
	"$ROOT/pipelines/deps" --check 2>/dev/null || skip "Debian packages are missing (pipelines/deps --check)"
	run env EPOCHS=1 OUT="$T/demo/hello-world" make --no-print-directory -C "$ROOT" demo
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	check_results "$T/demo/hello-world"
	if grep -q 'random initialisation' "$T/demo/hello-world/summary.md"; then false; fi
	grep -q '^ARCH=inception_v3$' "$T/demo/hello-world/settings.txt"
	grep -q 'A reduced run: 1 of' "$T/demo/hello-world/summary.md"
}

# Issue 15.1: reading the Makefile never fails for want of a -dev package;
# the check runs where it can be acted on (make deps, make demo, make test).
@test "make: the Makefile reads without the -dev packages; building names the apt-get line" {
	for goal in demo test deps data weights; do
		run make -C "$ROOT" -n INCLUDE_ROOT=/nonexistent "$goal"
		[ "$status" -eq 0 ] || { echo "make -n $goal: $output"; false; }
		[[ "$output" != *"***"* ]] || { echo "$output"; false; }
	done
	run make -C "$ROOT" -n INCLUDE_ROOT=/nonexistent demo
	[[ "$output" == *pipelines/deps* ]]
	run make -C "$ROOT" B="$T/build" INCLUDE_ROOT=/nonexistent all
	[ "$status" -ne 0 ]
	[[ "$output" == *"missing Debian packages"* ]]
	[[ "$output" == *"apt-get install"*libdnnl-dev*libpng-dev* ]]
}
