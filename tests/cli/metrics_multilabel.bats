#!/usr/bin/env bats
# metrics and plot on multi-label predictions (issue 20): per-label AUC and
# DeLong interval against an independent reference (tests/lib/mlref.py,
# python3 + scipy: AUC within 1e-6, interval bounds within 1e-4), masked
# unknowns, macro and micro averages on a hand-checked set, thresholds from
# validation, labels not trained or with one class, bad input, the figure.

bats_require_minimum_version 1.5.0

setup() {
	BIN="${RADPIPE_BIN:-$BATS_TEST_DIRNAME/../../bin}"
	METRICS="$BIN/metrics"
	PLOT="$BIN/plot"
	MK="/usr/bin/python3 $BATS_TEST_DIRNAME/../lib/mkframes.py"
	REF="/usr/bin/python3 $BATS_TEST_DIRNAME/../lib/mlref.py"
	T="$BATS_TEST_TMPDIR"
	# Hand-checked: 4 images, labels A B C D.
	#   A: targets 1 1 0 0, scores .9 .4 .6 .1  -> AUC 3/4
	#   B: targets 0 1 1 -1, scores .2 .8 .3 .99 -> AUC 1 (the unknown .99 masked)
	#   C: never trained (NaN scores, trained false)
	#   D: targets 0 0 -1 0 (one class), scores .95 .05 .5 .5
	# macro (A, B) = 0.875; micro over A's and B's known pairs: positives
	# .9 .4 .8 .3, negatives .6 .1 .2: 10 of 12 pairs = 0.8333...
	/usr/bin/python3 - >"$T/hand.jsonl" <<'PY'
import json
t = [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, -1], [0, -1, 0, 0]]
n = float("nan")
s = [[.9, .2, n, .95], [.4, .8, n, .05], [.6, .3, n, .5], [.1, .99, n, .5]]
for i in range(4):
    print(json.dumps({"kind": "prediction", "id": "h%d" % i, "scores": s[i],
                      "trained": [True, True, False, True], "target_names": ["A", "B", "C", "D"],
                      "targets": t[i]}))
PY
	$MK pack <"$T/hand.jsonl" >"$T/hand.mpk"
}

# summary KEY < frames: KEY of the multilabel_summary frame (JSON)
summary() {
	/usr/bin/python3 -c '
import json, sys, msgpack
for f in msgpack.Unpacker(sys.stdin.buffer, raw=False):
    if f["kind"] == "multilabel_summary":
        print(json.dumps(f[sys.argv[1]]))' "$1"
}

# label NAME KEY < frames: KEY of NAME's label_metrics frame (JSON)
label() {
	/usr/bin/python3 -c '
import json, sys, msgpack
for f in msgpack.Unpacker(sys.stdin.buffer, raw=False):
    if f["kind"] == "label_metrics" and f["label"] == sys.argv[1]:
        print(json.dumps(f[sys.argv[2]]))' "$1" "$2"
}

# column J < multi-label stream > single-label stream of label J's known targets
column() {
	/usr/bin/python3 -c '
import sys, msgpack
j = int(sys.argv[1])
for f in msgpack.Unpacker(sys.stdin.buffer, raw=False):
    if f["targets"][j] >= 0:
        sys.stdout.buffer.write(msgpack.packb({"kind": "prediction", "id": f["id"],
            "label": f["targets"][j], "score": f["scores"][j]}))' "$1"
}

@test "metrics multi-label: per-label AUC and DeLong CI, prevalence, micro and macro match the reference" {
	$REF gen --n 300 --k 6 --untrained 4 --one-class 5 --seed 3 >"$T/test.mpk"
	"$METRICS" -f frames "$T/test.mpk" >"$T/ev.mpk"
	run $REF check "$T/test.mpk" "$T/ev.mpk"
	[ "$status" -eq 0 ]
	[ "$output" = "ok 4" ]
	[ "$(summary threshold_method <"$T/ev.mpk")" = '"fixed"' ]
	[ "$(summary thresholds <"$T/ev.mpk")" = '[0.5, 0.5, 0.5, 0.5, NaN, 0.5]' ]
	# a second data set, more labels, no untrained one
	$REF gen --n 120 --k 14 --seed 9 --unknown 0.4 >"$T/b.mpk"
	"$METRICS" -f frames <"$T/b.mpk" >"$T/b.ev"
	run $REF check "$T/b.mpk" "$T/b.ev"
	[ "$output" = "ok 14" ]
}

@test "metrics multi-label: the hand-checked set: macro 0.875, micro 10/12, C not trained, D one class" {
	"$METRICS" -f frames "$T/hand.mpk" >"$T/ev.mpk"
	[ "$(summary macro_auc <"$T/ev.mpk")" = 0.875 ]
	/usr/bin/python3 -c 'import sys; assert abs(float(sys.argv[1]) - 10 / 12) < 1e-12' \
	    "$(summary micro_auc <"$T/ev.mpk")"
	[ "$(summary micro_n_pos <"$T/ev.mpk") $(summary micro_n_neg <"$T/ev.mpk")" = "4 3" ]
	[ "$(summary evaluated <"$T/ev.mpk")" = '["A", "B"]' ]
	[ "$(summary not_trained <"$T/ev.mpk")" = '["C"]' ]
	[ "$(summary one_class <"$T/ev.mpk")" = '["D"]' ]
	[ "$(label A auc <"$T/ev.mpk")" = 0.75 ]
	[ "$(label B auc <"$T/ev.mpk")" = 1.0 ]
	[ "$(label B auc_ci_method <"$T/ev.mpk")" = '"exact-pairs"' ]
	[ "$(label B n_known <"$T/ev.mpk") $(label B n_unknown <"$T/ev.mpk")" = "3 1" ]
	[ "$(label C status <"$T/ev.mpk")" = '"not-trained"' ]
	[ "$(label D status <"$T/ev.mpk")" = '"one-class"' ]
	[ "$(label D auc <"$T/ev.mpk")" = NaN ]
	# D at 0.5: negatives .95 .05 .5 known as 0 .95 .05 .5 -> 1 of 3 below
	[ "$(label D specificity <"$T/ev.mpk")" = 0.3333333333333333 ]
	# A at 0.5: sensitivity 1/2, specificity 1/2
	[ "$(label A sensitivity <"$T/ev.mpk") $(label A specificity <"$T/ev.mpk")" = "0.5 0.5" ]
	run "$METRICS" -f text "$T/hand.mpk"
	[ "$status" -eq 0 ]
	[[ "$output" == *"macro AUC 0.8750 (mean of 2 labels' AUCs); micro AUC 0.8333"* ]]
	[[ "$output" == *"not trained (excluded): C"* ]]
	[[ "$output" == *"one class among known targets, no AUC (excluded): D"* ]]
	[[ "$output" == *"0.5 for every label (fixed: no --threshold-from)"* ]]
}

@test "metrics multi-label: an unknown target's score changes nothing; a known one's does" {
	"$METRICS" -f frames "$T/hand.mpk" >"$T/a.mpk"
	$REF edit "$T/hand.mpk" h3 1 0.01 >"$T/moved.mpk"       # B's unknown
	"$METRICS" -f frames "$T/moved.mpk" >"$T/b.mpk"
	cmp "$T/a.mpk" "$T/b.mpk"
	$REF gen --n 200 --k 4 --seed 5 >"$T/g.mpk"
	"$METRICS" -f frames "$T/g.mpk" >"$T/g1.mpk"
	id=$(/usr/bin/python3 -c '
import sys, msgpack
for f in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    if f["targets"][2] == -1:
        print(f["id"]); break' "$T/g.mpk")
	$REF edit "$T/g.mpk" "$id" 2 0.999 >"$T/g2.mpk"
	"$METRICS" -f frames "$T/g2.mpk" >"$T/g2.ev"
	cmp "$T/g1.mpk" "$T/g2.ev"
	$REF edit "$T/hand.mpk" h2 1 0.01 >"$T/known.mpk"       # B's known positive .3
	"$METRICS" -f frames "$T/known.mpk" >"$T/c.mpk"
	[ "$(label B auc <"$T/c.mpk")" = 0.5 ]
}

@test "metrics multi-label: --threshold-from VAL: each label's Youden threshold on VAL, applied to TEST" {
	$REF gen --n 200 --k 5 --seed 11 --prefix val >"$T/val.mpk"
	$REF gen --n 300 --k 5 --seed 12 --untrained 4 >"$T/test.mpk"
	"$METRICS" -f frames --threshold-from "$T/val.mpk" "$T/test.mpk" >"$T/ev.mpk"
	[ "$(summary threshold_method <"$T/ev.mpk")" = '"threshold-from"' ]
	run $REF check "$T/test.mpk" "$T/ev.mpk"
	[ "$output" = "ok 4" ]
	# each label as metrics chooses for one label (the single-label path)
	for j in 0 1 2 3; do
		column $j <"$T/val.mpk" >"$T/val$j.mpk"
		column $j <"$T/test.mpk" >"$T/test$j.mpk"
		"$METRICS" -f frames --threshold-from "$T/val$j.mpk" "$T/test$j.mpk" >"$T/one$j.mpk"
		name=$(/usr/bin/python3 -c 'import sys; print(sys.argv[1:][int(sys.argv[1])])' $((j + 1)) \
		    Atelectasis Cardiomegaly Effusion Infiltration Mass)
		for k in threshold sensitivity specificity threshold_rule; do
			[ "$(label "$name" $k <"$T/ev.mpk")" = "$($MK get $k <"$T/one$j.mpk" | head -1)" ]
		done
	done
	# Mass was not trained on TEST: no threshold, listed as not trained
	[ "$(label Mass status <"$T/ev.mpk")" = '"not-trained"' ]
	# --youden chooses on the input itself
	"$METRICS" -f frames --youden "$T/test.mpk" >"$T/y.mpk"
	column 0 <"$T/test.mpk" >"$T/t0.mpk"
	[ "$(label Atelectasis threshold <"$T/y.mpk")" = "$("$METRICS" -f frames --youden "$T/t0.mpk" | $MK get threshold | head -1)" ]
	# --threshold T: T for every label
	"$METRICS" -f frames --threshold 0.3 "$T/test.mpk" >"$T/f.mpk"
	[ "$(summary thresholds <"$T/f.mpk")" = '[0.3, 0.3, 0.3, 0.3, NaN]' ]
}

@test "metrics multi-label: a label with one class on VAL keeps 0.5, said in its frame and the text" {
	$REF gen --n 100 --k 3 --seed 2 --one-class 1 --prefix val >"$T/val.mpk"
	$REF gen --n 100 --k 3 --seed 3 >"$T/test.mpk"
	"$METRICS" -f frames --threshold-from "$T/val.mpk" "$T/test.mpk" >"$T/ev.mpk"
	[ "$(label Cardiomegaly threshold <"$T/ev.mpk")" = 0.5 ]
	[ "$(label Cardiomegaly threshold_method <"$T/ev.mpk")" = '"fixed"' ]
	[ "$(label Cardiomegaly threshold_fallback <"$T/ev.mpk")" = '"one class among the known targets"' ]
	run "$METRICS" -f text --threshold-from "$T/val.mpk" "$T/test.mpk"
	[[ "$output" == *"Youden's J per label on $T/val.mpk (*: none there"* ]]
	[[ "$output" == *"0.5* "* ]]
}

@test "metrics multi-label: text, tsv, csv and json output; --roc writes a roc frame per evaluated label" {
	run -0 "$METRICS" -f tsv "$T/hand.mpk"
	[[ "$output" == *$'label_metrics\tauc\t0.75\t'* ]]
	run -0 "$METRICS" -f csv "$T/hand.mpk"
	[[ "$output" == *"multilabel_summary,macro_auc,0.875"* ]]
	"$METRICS" -f json "$T/hand.mpk" | /usr/bin/python3 -c '
import json, sys
kinds = [json.loads(l)["kind"] for l in sys.stdin]
assert kinds == ["multilabel_summary"] + ["label_metrics"] * 4, kinds'
	"$METRICS" -f frames --roc "$T/hand.mpk" >"$T/roc.mpk"
	[ "$($MK get label <"$T/roc.mpk" | tr '\n' ' ')" = '"A" "B" "C" "D" "A" "B" ' ]
	[ "$($MK get fpr <"$T/roc.mpk" | head -1)" = "[0.0, 0.0, 0.5, 0.5, 1.0]" ]
}

@test "metrics multi-label: bad input fails with a clear message and an empty stdout" {
	bad() {
		run -1 --separate-stderr "$METRICS" -f frames "$@"
		[ -z "$output" ]
	}
	# a single-label prediction after multi-label ones, and the reverse
	{ cat "$T/hand.mpk"; $MK frame '{"kind":"prediction","id":"x","label":1,"score":0.3}'; } >"$T/mixed.mpk"
	bad "$T/mixed.mpk"
	[[ "$stderr" == *"mixed.mpk: frame 4 (prediction): a single-label prediction among multi-label ones"* ]]
	{ $MK frame '{"kind":"prediction","id":"x","label":1,"score":0.3}'; cat "$T/hand.mpk"; } >"$T/mixed2.mpk"
	bad "$T/mixed2.mpk"
	[[ "$stderr" == *"a multi-label prediction (target_names) among single-label ones"* ]]
	# K differs between frames
	{ cat "$T/hand.mpk"; $MK frame '{"kind":"prediction","id":"k","scores":[0.1,0.2,0.3],"target_names":["A","B","C"],"targets":[0,1,0]}'; } >"$T/k.mpk"
	bad "$T/k.mpk"
	[[ "$stderr" == *"k.mpk: frame 4 (prediction): 3 target_names, the frames before had 4"* ]]
	# scores and target_names of different lengths
	$MK frame '{"kind":"prediction","id":"s","scores":[0.1,0.2],"target_names":["A","B","C"],"targets":[0,1,0]}' >"$T/s.mpk"
	bad "$T/s.mpk"
	[[ "$stderr" == *"scores is not an array of 3 numbers"* ]]
	# another label's name
	{ cat "$T/hand.mpk"; $MK frame '{"kind":"prediction","id":"n","scores":[0.1,0.2,NaN,0.1],"trained":[true,true,false,true],"target_names":["A","X","C","D"],"targets":[0,1,0,0]}'; } >"$T/n.mpk"
	bad "$T/n.mpk"
	[[ "$stderr" == *"target_names[1] is 'X', the frames before had 'B'"* ]]
	# NaN score on a trained label
	$MK frame '{"kind":"prediction","id":"q","scores":[0.1,NaN],"trained":[true,true],"target_names":["A","B"],"targets":[0,1]}' >"$T/nan.mpk"
	bad "$T/nan.mpk"
	[[ "$stderr" == *"nan.mpk: frame 0 (prediction): label 'B': NaN score on a trained label"* ]]
	# trained flags that change
	{ cat "$T/hand.mpk"; $MK frame '{"kind":"prediction","id":"t","scores":[0.1,0.2,0.3,0.1],"trained":[true,true,true,true],"target_names":["A","B","C","D"],"targets":[0,1,0,0]}'; } >"$T/tr.mpk"
	bad "$T/tr.mpk"
	[[ "$stderr" == *"label 'C' is trained here, not trained in the frames before"* ]]
	# targets missing or not 1/0/-1
	$MK frame '{"kind":"prediction","id":"u","scores":[0.1,0.2],"target_names":["A","B"]}' >"$T/nt.mpk"
	bad "$T/nt.mpk"
	[[ "$stderr" == *"no targets"* ]]
	$MK frame '{"kind":"prediction","id":"u","scores":[0.1,0.2],"target_names":["A","B"],"targets":[2,0]}' >"$T/t2.mpk"
	bad "$T/t2.mpk"
	[[ "$stderr" == *"targets[0] is not 1, 0 or -1"* ]]
	# a repeated id
	cat "$T/hand.mpk" "$T/hand.mpk" >"$T/dup.mpk"
	bad "$T/dup.mpk"
	[[ "$stderr" == *"id 'h0' occurs twice"* ]]
	run -0 "$METRICS" -f frames --allow-duplicates "$T/dup.mpk"
	# thresholds from a set with other labels
	$MK frame '{"kind":"prediction","id":"v","scores":[0.1,0.2],"target_names":["A","B"],"targets":[0,1]}' >"$T/v2.mpk"
	bad --threshold-from "$T/v2.mpk" "$T/hand.mpk"
	[[ "$stderr" == *"v2.mpk: 2 labels, the predictions have 4"* ]]
	# thresholds from single-label predictions for multi-label ones, and the reverse
	$MK frame '{"kind":"prediction","id":"x","label":1,"score":0.3}' >"$T/single.mpk"
	bad --threshold-from "$T/single.mpk" "$T/hand.mpk"
	[[ "$stderr" == *"single.mpk: single-label predictions; the input is multi-label"* ]]
	bad --threshold-from "$T/hand.mpk" "$T/single.mpk"
	[[ "$stderr" == *"hand.mpk: multi-label predictions; the input is single-label"* ]]
	# options of single-label evaluation
	run -2 --separate-stderr "$METRICS" --labels "$T/hand.mpk" "$T/hand.mpk"
	[ -z "$output" ]
	[[ "$stderr" == *"--labels, --scores-only and --bootstrap apply to single-label predictions"* ]]
}

@test "plot --roc: one curve per evaluated label of a multi-label evaluation, the others named in a caption" {
	command -v gnuplot >/dev/null || skip "gnuplot is not installed (Debian: gnuplot-nox)"
	$REF gen --n 300 --k 6 --untrained 4 --one-class 5 --seed 3 >"$T/test.mpk"
	"$METRICS" -f frames --roc "$T/test.mpk" >"$T/ev.mpk"
	"$PLOT" --roc -o "$T/roc.png" --keep-script "$T/ev.mpk"
	/usr/bin/python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR" and b.endswith(b"IEND\xaeB`\x82")
assert struct.unpack(">II", b[16:24]) == (700, 700)' "$T/roc.png"
	[ "$(grep -o "with lines lw 2.5" "$T/roc.png.gp" | wc -l)" -eq 4 ]
	for name in Atelectasis Cardiomegaly Effusion Infiltration; do
		auc=$(label $name auc <"$T/ev.mpk")
		grep -q "title '$name: AUC $(printf %.3f "$auc") (95% CI " "$T/roc.png.gp"
	done
	grep -q "'not drawn: Mass (not trained); Nodule (one class)'" "$T/roc.png.gp"
	grep -q "title 'chance'" "$T/roc.png.gp"
	! grep -q "title 'threshold" "$T/roc.png.gp"
	# fourteen labels: past ten colours the dash pattern changes
	$REF gen --n 200 --k 14 --seed 4 >"$T/k14.mpk"
	"$METRICS" -f frames --roc "$T/k14.mpk" | "$PLOT" --roc -o "$T/k14.png" --keep-script
	[ "$(grep -o "with lines lw 2.5 dt 2" "$T/k14.png.gp" | wc -l)" -eq 4 ]
	[ -s "$T/k14.png" ]
}
