# inputs.bash — where every test finds the tutorial's images and the
# ImageNet weights: one rule (issue 15.8), the one pipelines/hello-world
# and make demo follow.
#   images:  $RADPIPE_DATA when set, else data/Open_I_abd_vs_CXRs or data/
#            of the repository (where make data puts them) when it holds
#            TRAIN, else the same under $XDG_DATA_HOME/radpipe/
#   weights: $RADPIPE_WEIGHTS when set, else weights/ of the repository
#            (make weights), else $XDG_DATA_HOME/radpipe/weights/;
#            inception_v3_imagenet_notop.h5 is also found under the name of
#            Keras' download
# The C unit tests follow the same rule (tu_weights_file, tests/unit/testutil.c).
#
#   tests_find_inputs ROOT   exports RADPIPE_DATA and RADPIPE_WEIGHTS when
#                            they are unset and data/, weights/ of ROOT hold them
#   weights_file NAME        prints the path of weights file NAME; status 1
#                            when it is not there
#   need_data                (bats) skip unless the images are there
#   need_weights NAME        (bats) skip unless weights file NAME is there
# Skip reasons start "needs X": the test summary counts skips by X.

# shellcheck disable=SC2034,SC2015
tests_find_inputs() {
	local root=$1 d
	local xdg=${XDG_DATA_HOME:-${HOME:-/nonexistent}/.local/share}/radpipe
	if [ -z "${RADPIPE_DATA:-}" ]; then
		for d in "$root/data/Open_I_abd_vs_CXRs" "$root/data" "$xdg/data/Open_I_abd_vs_CXRs" "$xdg/data"; do
			if [ -d "$d/TRAIN" ]; then export RADPIPE_DATA=$d; break; fi
		done
	fi
	if [ -z "${RADPIPE_WEIGHTS:-}" ]; then
		for d in "$root/weights" "$xdg/weights"; do
			if [ -d "$d" ]; then export RADPIPE_WEIGHTS=$d; break; fi
		done
	fi
	return 0
}

weights_file() {
	local d=${RADPIPE_WEIGHTS:-/nonexistent}
	if [ -f "$d" ] && [ "$(basename "$d")" = "$1" ]; then printf '%s\n' "$d"; return 0; fi
	if [ -r "$d/$1" ]; then printf '%s\n' "$d/$1"; return 0; fi
	if [ "$1" = inception_v3_imagenet_notop.h5 ]; then
		if [ -f "$d" ]; then printf '%s\n' "$d"; return 0; fi
		d=$d/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5
		if [ -r "$d" ]; then printf '%s\n' "$d"; return 0; fi
	fi
	return 1
}

need_data() {
	[ -d "${RADPIPE_DATA:-/nonexistent}/TRAIN" ] ||
		skip "needs RADPIPE_DATA (or data/ of the repository: make data): the Open_I_abd_vs_CXRs folder with TRAIN, VAL, TEST"
}

need_weights() {
	weights_file "$1" >/dev/null ||
		skip "needs RADPIPE_WEIGHTS (or weights/ of the repository: make weights) holding $1"
}
