#!/usr/bin/env bats
# metrics as a user runs it: known answers from published worked examples
# and hand-computed sets, the output formats, and bad input.

bats_require_minimum_version 1.5.0

setup() {
	METRICS="${RADPIPE_BIN:-$BATS_TEST_DIRNAME/../../bin}/metrics"
	MK="/usr/bin/python3 $BATS_TEST_DIRNAME/../lib/mkframes.py"
	T="$BATS_TEST_TMPDIR"
	# Hanley & McNeil 1982, Table 1: 109 CT images rated 1..5 (score r/5).
	/usr/bin/python3 - >"$T/hanley.jsonl" <<'PY'
import json
normal, abnormal, i = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33], 0
for r in range(5):
    for label, count in ((0, normal[r]), (1, abnormal[r])):
        for _ in range(count):
            print(json.dumps({"kind": "prediction", "id": "ct%03d" % i, "label": label,
                              "class": ["normal", "abnormal"][label], "score": (r + 1) / 5}))
            i += 1
PY
	$MK pack <"$T/hanley.jsonl" >"$T/hanley.mpk"
	# A set worked by hand: positives 0.9 0.8 0.4 0.35, negatives 0.7 0.3 0.2 0.1.
	/usr/bin/python3 - >"$T/tiny.jsonl" <<'PY'
import json
for i, (s, y) in enumerate(zip([0.9, 0.8, 0.4, 0.35, 0.7, 0.3, 0.2, 0.1], [1, 1, 1, 1, 0, 0, 0, 0])):
    print(json.dumps({"kind": "prediction", "id": "t%d" % i, "label": y,
                      "class": ["chest", "abdomen"][y], "score": s}))
PY
	$MK pack <"$T/tiny.jsonl" >"$T/tiny.mpk"
}

# get KEY < frames: the value of KEY in the evaluation frame
get() {
	$MK get "$1"
}

round() {
	/usr/bin/python3 -c "import sys; print(round(float(sys.argv[1]), int(sys.argv[2])))" "$@"
}

@test "metrics: Hanley & McNeil 1982 CT data: AUC 0.893, Hanley SE 0.032" {
	"$METRICS" <"$T/hanley.mpk" >"$T/out.mpk"
	[ "$(round "$(get auc <"$T/out.mpk")" 3)" = 0.893 ]
	[ "$(round "$(get auc_se_hanley <"$T/out.mpk")" 3)" = 0.032 ]
	[ "$(get n_per_class <"$T/out.mpk")" = "[58, 51]" ]
}

@test "metrics: DeLong SE of the same data is 0.0307, CI 0.83295-0.95339 (Stata roctab)" {
	"$METRICS" <"$T/hanley.mpk" >"$T/out.mpk"
	[ "$(round "$(get auc_se <"$T/out.mpk")" 4)" = 0.0307 ]
	ci=$(get auc_ci <"$T/out.mpk" | /usr/bin/python3 -c 'import json,sys; a=json.load(sys.stdin); print("%.5f %.5f" % tuple(a))')
	[ "$ci" = "0.83295 0.95339" ]
}

@test "metrics: hand-computed confusion matrix and Wilson intervals at 0.5" {
	"$METRICS" "$T/tiny.mpk" >"$T/out.mpk"
	[ "$(get confusion <"$T/out.mpk")" = "[[3, 1], [2, 2]]" ]
	[ "$(get tp <"$T/out.mpk") $(get fp <"$T/out.mpk") $(get tn <"$T/out.mpk") $(get fn <"$T/out.mpk")" = "2 1 3 2" ]
	[ "$(get accuracy <"$T/out.mpk")" = 0.625 ]
	# Wilson 5/8: 0.3057-0.8632 (z = 1.96)
	[ "$(get accuracy_ci <"$T/out.mpk" | /usr/bin/python3 -c 'import json,sys; print("%.4f %.4f" % tuple(json.load(sys.stdin)))')" = "0.3057 0.8632" ]
	[ "$(round "$(get f1 <"$T/out.mpk")" 6)" = "$(round 0.5714285714 6)" ]
	[ "$(get auc <"$T/out.mpk")" = 0.875 ]
	[ "$(get positive_class <"$T/out.mpk" | sort -u)" = '"abdomen"' ]
}

@test "metrics: score equal to the threshold is positive; --threshold 0.35" {
	"$METRICS" --threshold 0.35 "$T/tiny.mpk" >"$T/out.mpk"
	[ "$(get tp <"$T/out.mpk") $(get fp <"$T/out.mpk")" = "4 1" ]
	[ "$(get threshold_method <"$T/out.mpk")" = '"fixed"' ]
}

# logit middle of (0.3, 0.35], the thresholds that give the best point
youden_tiny=$(/usr/bin/python3 -c 'import math; l = lambda p: math.log(p / (1 - p)); print(round(1 / (1 + math.exp(-(l(0.3) + l(0.35)) / 2)), 6))')

@test "metrics: --youden: J = 0.75 for every threshold in (0.3, 0.35]; their logit middle" {
	"$METRICS" --youden "$T/tiny.mpk" >"$T/out.mpk"
	[ "$(round "$(get threshold <"$T/out.mpk")" 6)" = "$youden_tiny" ]
	[ "$(get youden_j <"$T/out.mpk")" = 0.75 ]
	[ "$(get threshold_rule <"$T/out.mpk")" = '"logit-middle"' ]
	[ "$(get threshold_interval <"$T/out.mpk")" = "[0.3, 0.35]" ]
}

@test "metrics: --threshold-from chooses on VAL and applies to TEST" {
	"$METRICS" --threshold-from "$T/tiny.mpk" "$T/hanley.mpk" >"$T/out.mpk"
	[ "$(round "$(get threshold <"$T/out.mpk")" 6)" = "$youden_tiny" ]
	[ "$(get threshold_method <"$T/out.mpk")" = '"threshold-from"' ]
	[ "$(get n <"$T/out.mpk" | head -1)" = 109 ]
}

@test "metrics: --roc writes a roc frame whose curve matches the hand-computed one" {
	"$METRICS" --roc "$T/tiny.mpk" >"$T/out.mpk"
	[ "$(get fpr <"$T/out.mpk")" = "[0.0, 0.0, 0.0, 0.25, 0.25, 0.25, 0.5, 0.75, 1.0]" ]
	[ "$(get tpr <"$T/out.mpk")" = "[0.0, 0.25, 0.5, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0]" ]
	[ "$(get operating_point <"$T/out.mpk")" = "[0.25, 0.5]" ]
}

@test "metrics: labels joined by id from a CSV file, whatever the order" {
	grep -v '"label"' /dev/null || true
	sed 's/"label": [01], //; s/"class": "[a-z]*", //' "$T/tiny.jsonl" | tac | $MK pack >"$T/nolab.mpk"
	printf 'id,label,class\nt7,0,chest\nt0,1,abdomen\nt1,1,abdomen\nt2,1,abdomen\nt3,1,abdomen\nt4,0,chest\nt5,0,chest\nt6,0,chest\n' >"$T/labels.csv"
	"$METRICS" --labels "$T/labels.csv" "$T/nolab.mpk" >"$T/out.mpk"
	[ "$(get confusion <"$T/out.mpk")" = "[[3, 1], [2, 2]]" ]
}

# issue 16.3: --labels reads the label table of imgload --labels (labels.h:
# a header, then KEY,CLASS; quotes; further columns ignored); CLASS is an
# index or one of the class names the predictions carry (pred_class)
@test "metrics: --labels is imgload's label table, CLASS a class name or an index" {
	/usr/bin/python3 - <<'PY' | $MK pack >"$T/named.mpk"
import json
for i, s in enumerate([0.9, 0.8, 0.4, 0.35, 0.7, 0.3, 0.2, 0.1]):
    p = int(s >= 0.5)
    print(json.dumps({"kind": "prediction", "id": "t%d" % i, "score": s, "pred": p,
                      "pred_class": ["chest", "abdomen"][p]}))
PY
	printf 'key,class,note\n"t7",chest,x\nt0,abdomen\nt1,"abdomen"\nt2,abdomen\nt3,1\nt4,chest\nt5,0\nt6,chest\n' >"$T/names.csv"
	"$METRICS" --labels "$T/names.csv" "$T/named.mpk" >"$T/out.mpk"
	[ "$(get confusion <"$T/out.mpk")" = "[[3, 1], [2, 2]]" ]
	[ "$(get classes <"$T/out.mpk")" = '["chest", "abdomen"]' ]
	# a class the predictions do not name, an unterminated quote: errors naming the file
	printf 'key,class\nt0,lung\n' >"$T/bad.csv"
	run -1 --separate-stderr "$METRICS" --labels "$T/bad.csv" "$T/named.mpk"
	[[ "$stderr" == *"bad.csv: class 'lung' is none of the predictions' classes"* ]]
	printf 'key,class\nt0,"chest\n' >"$T/bad.csv"
	run -1 --separate-stderr "$METRICS" --labels "$T/bad.csv" "$T/named.mpk"
	[[ "$stderr" == *"bad.csv:2: unterminated quote"* ]]
}

@test "metrics: labels from a stream of sample frames" {
	sed 's/"label": [01], //; s/"class": "[a-z]*", //' "$T/tiny.jsonl" | $MK pack >"$T/nolab.mpk"
	sed 's/"prediction"/"sample"/; s/"score": [0-9.]*/"x": {"$tensor": {"dtype": "u8", "shape": [2, 2, 1], "fill": 7}}/' \
		"$T/tiny.jsonl" | $MK pack >"$T/samples.mpk"
	"$METRICS" --labels "$T/samples.mpk" <"$T/nolab.mpk" >"$T/out.mpk"
	[ "$(get accuracy <"$T/out.mpk")" = 0.625 ]
}

@test "metrics: predictions without labels are refused; --scores-only summarises them" {
	sed 's/"label": [01], //' "$T/tiny.jsonl" | $MK pack >"$T/nolab.mpk"
	run -1 --separate-stderr "$METRICS" "$T/nolab.mpk"
	[ -z "$output" ]
	[[ "$stderr" == *"8 of 8 predictions have no label"* ]]
	"$METRICS" --scores-only "$T/nolab.mpk" >"$T/out.mpk"
	[ "$(get kind <"$T/out.mpk")" = '"score_summary"' ]
	[ "$(get median <"$T/out.mpk")" = 0.375 ]
	[ "$(get n_at_or_above <"$T/out.mpk")" = 3 ]
	# unlabelled TEST scores at the threshold chosen on labelled VAL
	"$METRICS" --scores-only --threshold-from "$T/tiny.mpk" "$T/nolab.mpk" >"$T/out.mpk"
	[ "$(round "$(get threshold <"$T/out.mpk")" 6)" = "$youden_tiny" ]
	[ "$(get threshold_method <"$T/out.mpk")" = '"threshold-from"' ]
	[ "$(get threshold_rule <"$T/out.mpk")" = '"logit-middle"' ]
	[ "$(get n_at_or_above <"$T/out.mpk")" = 5 ]
	run -2 "$METRICS" --scores-only --youden "$T/nolab.mpk"
}

@test "metrics: a repeated id is an error unless --allow-duplicates (the last one counts)" {
	cat "$T/tiny.mpk" "$T/tiny.mpk" >"$T/twice.mpk"
	run -1 --separate-stderr "$METRICS" "$T/twice.mpk"
	[ -z "$output" ]
	[[ "$stderr" == *"id 't0' occurs twice"* ]]
	"$METRICS" --allow-duplicates "$T/twice.mpk" >"$T/out.mpk"
	[ "$(get n <"$T/out.mpk" | head -1)" = 8 ]
}

@test "metrics: a label that contradicts --labels is an error" {
	printf 'id,label\nt0,0\n' >"$T/labels.csv"
	run -1 "$METRICS" --labels "$T/labels.csv" "$T/tiny.mpk"
	[[ "$output" == *"'t0'"* ]]
}

@test "metrics: --bootstrap N --seed S is reproducible and seed-dependent" {
	a=$("$METRICS" --bootstrap 500 --seed 3 "$T/hanley.mpk" | get auc_ci_bootstrap)
	b=$("$METRICS" --bootstrap 500 --seed 3 "$T/hanley.mpk" | get auc_ci_bootstrap)
	c=$("$METRICS" --bootstrap 500 --seed 4 "$T/hanley.mpk" | get auc_ci_bootstrap)
	[ "$a" = "$b" ]
	[ "$a" != "$c" ]
	lo=$(echo "$a" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0])')
	/usr/bin/python3 -c "assert 0.80 < $lo < 0.86"
}

@test "metrics: --format json is one JSON object per line (jq reads it)" {
	"$METRICS" --roc --format json "$T/tiny.mpk" >"$T/out.json"
	# evaluation, roc, calibration (equal width), calibration (equal mass)
	[ "$(wc -l <"$T/out.json")" -eq 4 ]
	[ "$(head -1 "$T/out.json" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["auc"])')" = 0.875 ]
	[ "$(sed -n 2p "$T/out.json" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["thresholds"][0])')" = None ]
	[ "$(tail -2 "$T/out.json" | /usr/bin/python3 -c 'import json,sys; print(*(json.loads(l)["binning"] for l in sys.stdin))')" = "width mass" ]
}

@test "metrics: --format tsv and csv: long table with intervals, ROC as a wide table" {
	"$METRICS" --roc --format tsv "$T/tiny.mpk" >"$T/out.tsv"
	head -1 "$T/out.tsv" | grep -q $'^kind\tkey\tvalue\tci_low\tci_high$'
	grep -q $'^evaluation\taccuracy\t0.625\t0.3057' "$T/out.tsv"
	grep -q $'^thresholds\tfpr\ttpr$' "$T/out.tsv"
	"$METRICS" --format csv "$T/tiny.mpk" | grep -q '^evaluation,tp,2,,$'
}

@test "metrics: text output is a readable table" {
	run "$METRICS" --format text "$T/hanley.mpk"
	[ "$status" -eq 0 ]
	[[ "$output" == *"AUC            0.8932   [0.8330, 0.9534]  DeLong, SE 0.0307"* ]]
	[[ "$output" == *"sensitivity"*"Wilson, 46/51"* ]]
}

@test "metrics: multi-class accuracy and confusion matrix" {
	/usr/bin/python3 - <<'PY' | $MK pack >"$T/multi.mpk"
import json
rows = [(0, 0), (0, 0), (0, 1), (1, 1), (1, 1), (1, 2), (2, 2), (2, 2), (2, 2), (2, 0)]
for i, (y, p) in enumerate(rows):
    sc = [0.1, 0.1, 0.1]; sc[p] = 0.8
    print(json.dumps({"kind": "prediction", "id": "m%d" % i, "label": y, "scores": sc}))
PY
	"$METRICS" "$T/multi.mpk" >"$T/out.mpk"
	[ "$(get task <"$T/out.mpk")" = '"multiclass"' ]
	[ "$(get confusion <"$T/out.mpk")" = "[[2, 1, 0], [0, 2, 1], [1, 0, 3]]" ]
	[ "$(get accuracy <"$T/out.mpk")" = 0.7 ]
}

@test "metrics: training history: best epoch by val_acc (max) and by val_loss (min)" {
	/usr/bin/python3 - <<'PY' | $MK pack >"$T/hist.mpk"
import json
va = [0.6, 0.8, 0.9, 0.85]; vl = [0.9, 0.5, 0.45, 0.3]
for e in range(4):
    print(json.dumps({"kind": "metrics", "epoch": e + 1, "epochs": 4, "loss": 1.0 / (e + 1),
                      "acc": 0.5 + e / 10, "val_loss": vl[e], "val_acc": va[e]}))
PY
	"$METRICS" "$T/hist.mpk" >"$T/out.mpk"
	[ "$(get best_epoch <"$T/out.mpk")" = 3.0 ]
	[ "$(get best.val_acc <"$T/out.mpk")" = 0.9 ]
	[ "$(get final.val_acc <"$T/out.mpk")" = 0.85 ]
	"$METRICS" --by val_loss "$T/hist.mpk" | get best_epoch | grep -qx 4.0
	run -1 "$METRICS" --by nosuch "$T/hist.mpk"
}

@test "metrics: other frame kinds are ignored" {
	printf '%s\n' '{"kind":"epoch","index":0,"count":1}' | $MK pack >"$T/epoch.mpk"
	cat "$T/epoch.mpk" "$T/tiny.mpk" | "$METRICS" | get n | grep -qx 8
}

@test "metrics: bad input and bad usage fail with empty stdout" {
	run -1 --separate-stderr "$METRICS" </dev/null
	[ -z "$output" ]
	[[ "$stderr" == "metrics: no prediction or metrics frames"* ]]
	printf '%s\n' '{"kind":"epoch","index":0}' | $MK pack >"$T/epoch.mpk"
	run -1 --separate-stderr "$METRICS" "$T/epoch.mpk"
	[ -z "$output" ]
	run -2 --separate-stderr "$METRICS" --nosuch "$T/tiny.mpk"
	[ -z "$output" ]
	run -2 --separate-stderr "$METRICS" --threshold abc "$T/tiny.mpk"
	[ -z "$output" ]
	run -2 "$METRICS" --youden --threshold 0.3 "$T/tiny.mpk"
	run -2 "$METRICS" --format xml "$T/tiny.mpk"
	printf 'garbage' >"$T/bad.mpk"
	run -1 --separate-stderr "$METRICS" "$T/bad.mpk"
	[ -z "$output" ]
	printf '%s\n' '{"kind":"prediction","label":1,"score":0.5}' | $MK pack >"$T/noid.mpk"
	run -1 "$METRICS" "$T/noid.mpk"
	[[ "$output" == *"no string id"* ]]
}

@test "metrics: the EXAMPLES of metrics(1) run" {
	cd "$T"
	cp tiny.mpk val.mpk
	cp hanley.mpk test.mpk
	/usr/bin/python3 - <<'PY' | $MK pack >history.mpk
import json
for e in range(3):
    print(json.dumps({"kind": "metrics", "epoch": e + 1, "epochs": 3, "loss": 1.0 / (e + 1),
                      "acc": 0.5 + e / 10, "val_loss": 1.1 / (e + 1), "val_acc": 0.4 + e / 10}))
PY
	sed 's/"label": [01], //; s/"class": "[a-z]*", //' tiny.jsonl | $MK pack >unlabelled.mpk
	printf 'id,label\nt0,1\nt1,1\nt2,1\nt3,1\nt4,0\nt5,0\nt6,0\nt7,0\n' >labels.csv
	/usr/bin/python3 "$BATS_TEST_DIRNAME/../lib/mlref.py" gen --n 60 --k 4 --seed 1 >ml-val.mpk
	/usr/bin/python3 "$BATS_TEST_DIRNAME/../lib/mlref.py" gen --n 80 --k 4 --seed 2 >ml-test.mpk
	n=0
	while IFS= read -r line; do
		PATH="${RADPIPE_BIN:-$BATS_TEST_DIRNAME/../../bin}:$PATH" bash -o pipefail -c "$line" >/dev/null
		n=$((n + 1))
	done < <(sed -n '/^\.Sh EXAMPLES/,/^\.Sh /p' "$BATS_TEST_DIRNAME/../../man/man1/metrics.1" |
		sed -n 's/^\.Dl //p' | grep -v -e imgload -e nninfer -e nntrain | sed 's/\\-/-/g; s/\\e/\\/g')
	[ "$n" -ge 5 ]
}

@test "metrics: JSON, TSV and CSV numbers are the shortest that read back exactly (issue 15.5)" {
	"$METRICS" -t 0.827 --roc --format json "$T/hanley.mpk" >"$T/out.json"
	grep -q '"threshold":0.827,' "$T/out.json"
	! grep -Eq '[0-9]\.[0-9]*(0000000|9999999)[0-9]' "$T/out.json"
	"$METRICS" -t 0.827 --roc --format frames "$T/hanley.mpk" >"$T/out.mpk"
	# python3's json and msgpack read the same doubles, bit for bit
	/usr/bin/python3 - "$T/out.json" "$T/out.mpk" <<'PY'
import json, math, msgpack, sys
js = [json.loads(l) for l in open(sys.argv[1])]
mp = list(msgpack.Unpacker(open(sys.argv[2], "rb"), raw=False))
def same(a, b):
    if isinstance(b, float) and not math.isfinite(b):
        return a is None
    if isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in b)
    return a == b
assert len(js) == len(mp) == 4 and all(same(a, b) for a, b in zip(js, mp))
PY
	"$METRICS" -t 0.827 --format tsv "$T/hanley.mpk" | grep -q $'^evaluation\tthreshold\t0.827\t'
	# TSV/CSV cells too (they had 10 digits): auc_se as in the frame, exactly
	"$METRICS" --format csv "$T/hanley.mpk" | grep '^evaluation,auc_se,' | cut -d, -f3 >"$T/se.txt"
	/usr/bin/python3 -c 'import msgpack, sys; f = next(msgpack.Unpacker(open(sys.argv[1], "rb"))); assert float(open(sys.argv[2]).read()) == f["auc_se"]' \
		"$T/out.mpk" "$T/se.txt"
}

@test "metrics: a label 2 among binary predictions is said on stderr; -t outside [0, 1] is bad usage (issues 14.5, 14.14)" {
	# nninfer's binary predictions (score, scores, pred) with one label 2
	/usr/bin/python3 - <<'PY' | $MK pack >"$T/three.mpk"
import json
for i, (s, y) in enumerate(zip([0.9, 0.8, 0.4, 0.35, 0.7, 0.3], [1, 2, 1, 1, 0, 0])):
    print(json.dumps({"kind": "prediction", "id": "t%d" % i, "label": y, "score": s,
                      "scores": [1 - s, s], "pred": int(s >= 0.5)}))
PY
	/usr/bin/python3 - <<'PY' | $MK pack >"$T/multi.mpk"
import json
for i, (y, p) in enumerate([(0, 0), (1, 1), (2, 2), (2, 0)]):
    sc = [0.1, 0.1, 0.1]; sc[p] = 0.8
    print(json.dumps({"kind": "prediction", "id": "m%d" % i, "label": y, "scores": sc}))
PY
	run -0 --separate-stderr "$METRICS" -q "$T/three.mpk"
	[[ "$stderr" == *"metrics: a label 2 among predictions of 2 classes: evaluating 3 classes, not a binary task"* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	# a real multi-class set gets a note that -q silences
	run -0 --separate-stderr "$METRICS" "$T/multi.mpk"
	[[ "$stderr" == *"3 classes: a multi-class evaluation"* ]]
	run -0 --separate-stderr "$METRICS" -q "$T/multi.mpk"
	[ -z "$stderr" ]
	# negative labels are refused, never read as "unknown"
	sed '1s/"label": [01]/"label": -7/' "$T/tiny.jsonl" | $MK pack >"$T/neg.mpk"
	run -1 --separate-stderr "$METRICS" "$T/neg.mpk"
	[[ "$stderr" == *"class index out of range"* ]]
	for t in 2 -1 1.0001 -0.0001; do
		run -2 --separate-stderr "$METRICS" -t "$t" "$T/tiny.mpk"
		[ -z "$output" ]
		[[ "$stderr" == *"--threshold: $t is out of range [0, 1]"* ]]
	done
	run -0 "$METRICS" -t 1 "$T/tiny.mpk"
	run -0 "$METRICS" -t 0 "$T/tiny.mpk"
}

# issue 15.7: two runs' 10 VAL images, chest scores below 0.001 and abdomen
# scores from 0.975 (or 0.9939): every threshold in the gap has J = 1, and
# 0.5 lies in it, so 0.5 stays; DeLong's interval collapses to [1, 1], so
# the AUC's interval is the exact one on 5 disjoint pairs (issue 18.4)
@test "metrics: perfectly separated VAL: Youden keeps 0.5 inside the gap, says so; AUC interval exact on disjoint pairs (issues 15.7, 18.4)" {
	for top in 0.975 0.9939; do
		/usr/bin/python3 - "$top" <<'PY' | $MK pack >"$T/val.mpk"
import json, sys
ab = [float(sys.argv[1]), 0.998, 0.9991, 0.99995, 0.9999]
ch = [0.0009, 0.0001, 0.00002, 0.0004, 0.00071]
for i, s in enumerate(ab + ch):
    print(json.dumps({"kind": "prediction", "id": "v%d" % i, "label": int(i < 5), "score": s}))
PY
		"$METRICS" --threshold-from "$T/val.mpk" "$T/tiny.mpk" >"$T/out.mpk"
		[ "$(get threshold <"$T/out.mpk")" = 0.5 ]
		[ "$(get threshold_rule <"$T/out.mpk")" = '"default"' ]
		[ "$(get threshold_interval <"$T/out.mpk")" = "[0.0009, $top]" ]
		"$METRICS" --youden "$T/val.mpk" >"$T/out.mpk"
		[ "$(get threshold <"$T/out.mpk")" = 0.5 ]
		[ "$(get auc <"$T/out.mpk")" = 1.0 ]
		# issue 18.4: the exact interval on 5 disjoint pairs, not DeLong's [1, 1]
		[ "$(get auc_ci_method <"$T/out.mpk")" = '"exact-pairs"' ]
		run -0 "$METRICS" --youden -f text "$T/val.mpk"
		[[ "$output" == *"threshold 0.5 (youden: the default 0.5 is one of the tied best thresholds (0.0009, $top])"* ]]
		[[ "$output" == *"AUC            1.0000   [0.4782, 1.0000]  exact on 5 disjoint pairs; DeLong's interval collapses at AUC 1"* ]]
		"$METRICS" -f json "$T/val.mpk" | grep -q '"auc_ci":\[0.47817624989501[0-9]*,1\],"auc_se":0,"auc_ci_method":"exact-pairs"'
	done
}

# issue 18.4: the calibration frames against an independent computation in
# numpy from the definitions (tests/py/check_calibration.py): bins, edges,
# counts, mean scores, fractions positive and their Wilson intervals, ECE,
# MCE and the Brier parts, within 1e-12 relative, for sets with ties (the
# CT ratings), with scores on the bin edges, and with fewer cases than bins
@test "metrics: calibration frames match numpy's bins, ECE, MCE and Brier decomposition (issue 18.4)" {
	/usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
	/usr/bin/python3 - <<'PY' | $MK pack >"$T/rnd.mpk"
import json, random
random.seed(7)
for i in range(400):
    p = random.betavariate(0.6, 0.8)
    s = round(p, 2) if i % 3 else p          # ties, and scores on the edges k/10
    if i % 50 == 0:
        s = (i // 50) / 10
    print(json.dumps({"kind": "prediction", "id": "r%d" % i, "label": int(random.random() < p ** 1.3),
                      "score": s}))
PY
	for set in hanley rnd tiny; do
		for m in 1 3 7 10 40; do
			"$METRICS" --bins "$m" "$T/$set.mpk" >"$T/out.mpk"
			/usr/bin/python3 "$BATS_TEST_DIRNAME/../py/check_calibration.py" "$T/$set.mpk" "$T/out.mpk" "$m"
		done
	done
	# the checker is not vacuous: frames of 3 bins are not those of 10
	"$METRICS" --bins 3 "$T/rnd.mpk" >"$T/out.mpk"
	run -1 /usr/bin/python3 "$BATS_TEST_DIRNAME/../py/check_calibration.py" "$T/rnd.mpk" "$T/out.mpk" 10
	# ties are never split: 5 distinct CT ratings give at most 5 equal-mass bins
	"$METRICS" --bins 10 "$T/hanley.mpk" | $MK get nbins >"$T/nb"
	[ "$(cat "$T/nb")" = "$(printf '10\n4')" ]
}

# (alpha/2)^(1/k): the exact lower bound for the AUC when k disjoint pairs
# are all concordant (stats.h, stats_auc_separated_ci)
@test "metrics: AUC 1 (or 0): interval exact on k disjoint pairs, (alpha/2)^(1/k); DeLong's otherwise (issue 18.4)" {
	/usr/bin/python3 - <<'PY' | $MK pack >"$T/sep.mpk"
import json
for i in range(13):      # 5 positives above 8 negatives: k = 5
    print(json.dumps({"kind": "prediction", "id": "s%d" % i, "label": int(i < 5),
                      "score": 0.9 - i / 100 if i < 5 else 0.3 - i / 100}))
PY
	"$METRICS" --roc "$T/sep.mpk" >"$T/out.mpk"
	[ "$($MK get auc_ci_method <"$T/out.mpk" | sort -u)" = '"exact-pairs"' ]
	$MK get auc_ci <"$T/out.mpk" | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:                       # evaluation and roc frames
    lo, hi = json.loads(line)
    assert abs(lo - 0.025 ** (1 / 5)) <= 1e-15 and hi == 1, (lo, hi)'
	# AUC 0: the labels swapped
	sed 's/"label": 1/"label": 2/; s/"label": 0/"label": 1/; s/"label": 2/"label": 0/' \
		<(/usr/bin/python3 "$BATS_TEST_DIRNAME/../lib/mkframes.py" dump <"$T/sep.mpk") |
		$MK pack >"$T/sep0.mpk"
	"$METRICS" "$T/sep0.mpk" | $MK get auc_ci | /usr/bin/python3 -c '
import json, sys
lo, hi = json.load(sys.stdin)
assert lo == 0 and abs(hi - (1 - 0.025 ** (1 / 5))) <= 1e-15, (lo, hi)'
	run -0 "$METRICS" -f text "$T/sep0.mpk"
	[[ "$output" == *"exact on 5 disjoint pairs; DeLong's interval collapses at AUC 0"* ]]
	# not separated: DeLong's, as before
	[ "$("$METRICS" "$T/hanley.mpk" | $MK get auc_ci_method)" = '"delong"' ]
	# every score tied: no interval, and the text says not estimable
	sed 's/"score": [0-9.]*/"score": 0.5/' "$T/tiny.jsonl" | $MK pack >"$T/tied.mpk"
	[ "$("$METRICS" "$T/tied.mpk" | $MK get auc_ci_method)" = '"none"' ]
	run -0 "$METRICS" -f text "$T/tied.mpk"
	[[ "$output" == *"AUC            0.5000   not estimable"* ]]
}

@test "metrics: calibration in text, tsv, csv and json; --bins; scores that are not probabilities (issue 18.4)" {
	run -0 "$METRICS" -f text "$T/tiny.mpk"
	[[ "$output" == *"calibration, equal-width bins (10 asked, 10 used): ECE "* ]]
	[[ "$output" == *"calibration, equal-mass bins (10 asked, 8 used): ECE "* ]]
	[[ "$output" == *"Brier 0."*" = reliability "*" - resolution "*" + uncertainty 0.2500"* ]]
	[[ "$output" == *"(3 empty bins not shown)"* ]]
	"$METRICS" --bins 4 -f tsv "$T/tiny.mpk" >"$T/out.tsv"
	grep -q $'^calibration\tbinning\twidth\t\t$' "$T/out.tsv"
	grep -q $'^calibration\tbin_n\\[3\\]\t2\t\t$' "$T/out.tsv"
	grep -q $'^calibration\tece\t' "$T/out.tsv"
	"$METRICS" --bins 4 -f csv "$T/tiny.mpk" | grep -q '^calibration,within_bin_covariance,'
	"$METRICS" --bins 4 -f json "$T/tiny.mpk" | tail -1 | grep -q '^{"kind":"calibration","binning":"mass",'
	# bad --bins: usage errors
	for b in 0 -1 abc 1000001; do
		run -2 --separate-stderr "$METRICS" --bins "$b" "$T/tiny.mpk"
		[ -z "$output" ]
		[[ "$stderr" == "metrics: --bins"* ]]
	done
	# a score outside [0, 1] (a logit): said on stderr, the rest evaluated
	sed '1s/"score": 0.9/"score": 2.5/' "$T/tiny.jsonl" | $MK pack >"$T/logit.mpk"
	run -0 --separate-stderr "$METRICS" -f json "$T/logit.mpk"
	[ "$stderr" = "metrics: calibration: a score is not a probability in [0, 1]: no calibration frames" ]
	[ "$(wc -l <<<"$output")" -eq 1 ]
	[[ "$output" == '{"kind":"evaluation",'* ]]
	# no calibration without labels, nor for more than two classes
	[ "$("$METRICS" --scores-only "$T/tiny.mpk" | $MK count)" = 1 ]
	/usr/bin/python3 - <<'PY' | $MK pack >"$T/multi.mpk"
import json
for i, (y, p) in enumerate([(0, 0), (1, 1), (2, 2), (2, 0)]):
    sc = [0.1, 0.1, 0.1]; sc[p] = 0.8
    print(json.dumps({"kind": "prediction", "id": "m%d" % i, "label": y, "scores": sc}))
PY
	[ "$("$METRICS" -q "$T/multi.mpk" | $MK count)" = 1 ]
}
