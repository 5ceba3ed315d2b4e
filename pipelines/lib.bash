# lib.bash — helpers of pipelines/compare and pipelines/seeds, which read
# results folders of pipelines/hello-world (which uses awk_get and duration
# too).  Sourced, not run; defines functions only.  (Installed as
# share/radpipe/lib.bash.)
#
#   awk_get              an awk function get(KEY): the value of KEY in a line
#                        of peek(1) output, quotes removed (prints its text)
#   setting DIR KEY      a value of DIR/settings.txt
#   differences DIR      DIR's settings that differ from the paper's, in a
#                        few words ("the paper" when none; epochs left out)
#   history_dat DIR      DIR/history.mpk as lines "epoch val_acc val_loss acc loss"
#   val_auc DIR [FMT]    VAL's AUC of DIR (printf FMT, default %.3f; empty if none)
#   test_scores DIR      "chest2.png 0.012, abd2.png 0.987": TEST's scores
#   run_seconds DIR      the wall time of DIR's run in seconds (empty if unknown)
#   duration SECS        SECS as 1m05s ("?" when empty)
#   need_gnuplot ME      fails with a message naming ME without gnuplot

# shellcheck shell=bash
# shellcheck disable=SC2016
awk_get() {
	printf '%s' 'function get(key,   s) {
	if (!match($0, " " key "=(\"[^\"]*\"|[^ ]*)")) return ""
	s = substr($0, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
	gsub(/^"|"$/, "", s)
	return s
}'
}

setting() { sed -n "s/^$2=//p" "$1/settings.txt"; }

differences() {
	local d=$1 w=() a
	[ "$(setting "$d" PREPROCESS)" = rescale ] || w+=("preprocess $(setting "$d" PREPROCESS)")
	[ "$(setting "$d" WEIGHTS)" != none ] || w+=("random init")
	[ -z "$(setting "$d" TRAIN_OPTS)" ] || w+=("$(setting "$d" TRAIN_OPTS)")
	a=$(setting "$d" AUGMENT)
	case $a in
	none) w+=("no augmentation") ;;
	"--rotate 20 --shift 0.2 --shear-rad 0.2 --zoom 0.2 --hflip") ;;
	*) w+=("augment $a") ;;
	esac
	if [ "$(setting "$d" ARCH)" != inception_v3 ] || [ "$(setting "$d" SIZE)" != 299 ]; then
		w+=("$(setting "$d" ARCH) at $(setting "$d" SIZE)")
	fi
	case $(setting "$d" ARCH)/$(setting "$d" WEIGHTS) in
	inception_v3/* | small_cnn/* | */none) ;;
	*) w+=("ImageNet weights") ;;
	esac
	[ "$(setting "$d" LR)" = 1e-4 ] || w+=("lr $(setting "$d" LR)")
	[ "$(setting "$d" BATCH)" = 5 ] || w+=("batch $(setting "$d" BATCH)")
	[ "$(setting "$d" SEED)" = 1 ] || w+=("seed $(setting "$d" SEED)")
	[ "$(setting "$d" DEVICE)" = cpu ] || w+=("device $(setting "$d" DEVICE)")
	[ "$(setting "$d" TEST_IMAGES)" = "chest2.png abd2.png" ] || w+=("TEST images $(setting "$d" TEST_IMAGES)")
	if [ ${#w[@]} -eq 0 ]; then printf 'the paper'; return; fi
	printf '%s' "${w[0]}"
	[ ${#w[@]} -eq 1 ] || printf ', %s' "${w[@]:1}"
}

history_dat() {
	peek --width 1000 "$1/history.mpk" | awk "$(awk_get)"'
		$2 == "metrics" { print get("epoch"), get("val_acc"), get("val_loss"), get("acc"), get("loss") }'
}

val_auc() {
	metrics --format tsv "$1/val-predictions.mpk" |
		awk -F'\t' -v fmt="${2:-%.3f}" '$1 == "evaluation" && $2 == "auc" && $3 != "" { printf fmt, $3 }'
}

test_scores() {
	peek --width 1000 "$1/test-predictions.mpk" | awk "$(awk_get)"'
		$2 == "prediction" { printf "%s%s %.3f", sep, get("id"), get("score"); sep = ", " }'
}

run_seconds() { sed -n 's/^seconds=//p' "$1/time.txt" 2>/dev/null || true; }

duration() {
	if [ -z "$1" ]; then printf '?'; else printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); fi
}

need_gnuplot() {
	command -v gnuplot >/dev/null || { echo "$1: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
}
