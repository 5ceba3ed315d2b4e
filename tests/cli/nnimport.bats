#!/usr/bin/env bats
# nnimport as a user runs it.  Tests that need the weights fixtures read
# them from $RADPIPE_WEIGHTS, else weights/ (tests/lib/inputs.bash), and
# are skipped when they are not there.

bats_require_minimum_version 1.5.0

setup() {
	NNIMPORT="${RADPIPE_BIN:-$BATS_TEST_DIRNAME/../../bin}/nnimport"
	# weights_file, need_weights: tests/lib/inputs.bash
	. "$BATS_TEST_DIRNAME/../lib/inputs.bash"
	tests_find_inputs "$BATS_TEST_DIRNAME/../.."
	V3=$(weights_file inception_v3_imagenet_notop.h5) || true
	MOBILENET=$(weights_file keras2_mobilenet_0.25_notop_fixture.h5) || true
	T="$BATS_TEST_TMPDIR"
}

@test "nnimport --help prints the usage and exits 0" {
	run "$NNIMPORT" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"usage: nnimport"* ]]
}

@test "nnimport --list shows the layers and weights of the Keras 2.0.4 MobileNet file" {
	need_weights keras2_mobilenet_0.25_notop_fixture.h5
	run "$NNIMPORT" --list "$MOBILENET"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "# "*"keras_version 2.0.4"*"83 layers"* ]]
	[ "${lines[1]}" = "input_1" ]
	[ "${lines[2]}" = "conv1" ]
	[ "${lines[3]}" = $'\tconv1/kernel:0\t[3,3,3,8]' ]
	[ "$(grep -vc $'^[#\t]' <<<"$output")" -eq 83 ]
	[ "$(grep -c $'^\t' <<<"$output")" -eq 135 ]
}

@test "nnimport converts the InceptionV3 weights: 376 weights placed, head initialised" {
	need_weights inception_v3_imagenet_notop.h5
	run "$NNIMPORT" --classes openI_CXR,openI_abd_xray -o "$T/m.mpk" "$V3"
	[ "$status" -eq 0 ]
	[[ "$output" == *"placed 376 weights (21802784 parameters)"*"dense_1, dense_2"* ]]
	[ "$(stat -c %s "$T/m.mpk")" -gt 87000000 ]
	head -c 300 "$T/m.mpk" | grep -aq 'inception_v3'
	head -c 300 "$T/m.mpk" | grep -aq 'openI_abd_xray'
}

@test "nnimport -o - writes the model to a pipe, and nothing else to stdout" {
	need_weights inception_v3_imagenet_notop.h5
	"$NNIMPORT" -q --head 0,0,1 -o - "$V3" >"$T/out.mpk" 2>"$T/err"
	[ ! -s "$T/err" ]
	[ "$(stat -c %s "$T/out.mpk")" -gt 87000000 ]
}

@test "nnimport refuses weights of another architecture, naming them, and writes nothing" {
	need_weights keras2_mobilenet_0.25_notop_fixture.h5
	run --separate-stderr "$NNIMPORT" -o "$T/x.mpk" "$MOBILENET"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == "nnimport: "*"missing (376): conv2d_1/kernel:0"*"extra (135): conv1/kernel:0"* ]]
	[ ! -e "$T/x.mpk" ]
}

@test "nnimport fails cleanly on a file that is not HDF5" {
	printf 'not hdf5 at all\n' >"$T/bad.h5"
	run --separate-stderr "$NNIMPORT" -o "$T/x.mpk" "$T/bad.h5"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"not an HDF5 file"* ]]
	[ ! -e "$T/x.mpk" ]
}

@test "nnimport fails cleanly on a truncated HDF5 file and a missing one" {
	need_weights keras2_mobilenet_0.25_notop_fixture.h5
	head -c 100000 "$MOBILENET" >"$T/cut.h5"
	run --separate-stderr "$NNIMPORT" --list "$T/cut.h5"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == "nnimport: "* ]]
	run --separate-stderr "$NNIMPORT" --list "$T/none.h5"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

@test "nnimport rejects bad usage with status 2 and an empty stdout" {
	for args in "" "--head 1,2 -o x y.h5" "--preprocess foo -o x y.h5" \
	    "--classes a,b,c -o x y.h5" "y.h5" "--size 10 -o x y.h5" "--arch vgg -o x y.h5" \
	    "-o x a.h5 b.h5"; do
		run --separate-stderr "$NNIMPORT" $args
		[ "$status" -eq 2 ] || { echo "args: $args -> $status"; false; }
		[ -z "$output" ]
	done
}

# libhdf5 1.10 crashes or hangs on these (tests/fuzz/known/README): the file
# is read first in a child process with a time limit, so each one is a
# one-line error naming it, never a crash or a hang.
@test "nnimport refuses files that crash or hang libhdf5, naming them, within the time limit" {
	local f
	for f in "$BATS_TEST_DIRNAME"/../fuzz/known/fuzz_h5keras/*.h5; do
		run timeout 60 "$NNIMPORT" --list "$f"
		[ "$status" -eq 1 ] || { echo "$f: status $status: $output"; false; }
		# one line (under make SAN=1, ASan's report of the child comes first)
		[ -n "${RADPIPE_SAN:-}" ] || [ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
		[[ "${lines[-1]}" == "nnimport: $f: "* ]] || { echo "$output"; false; }
		run timeout 60 "$NNIMPORT" -o "$T/m.mpk" "$f"
		[ "$status" -eq 1 ] && [ ! -e "$T/m.mpk" ]
	done
}
