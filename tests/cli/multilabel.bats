#!/usr/bin/env bats
# Multi-label tasks (issue 20): imgload --targets in both layouts (the
# ChestX-ray14 findings column, one column per label) and with a label map,
# its errors (file:line, exit 1, nothing on stdout), images without a row;
# batch's (N, K) targets and its refusal to mix target lists; augment
# passing targets through; nntrain --task multilabel and nninfer end to end
# on a synthetic set (tests/lib/mkmultilabel.py: disc, bar, cross drawn
# independently, some unknown, "never" never annotated) with per-label AUC
# on held-out images computed here by scipy; --resume keeping the model's
# multi-label fields; the refusals of --task and --cam.

setup() {
	load ../lib/io-common
	need_numpy
	$PY -c 'import PIL, scipy' 2>/dev/null || skip "python3-pil or python3-scipy is not installed"
	cd "$T"
}

mkset() { $PY "$ROOT/tests/lib/mkmultilabel.py" "$@"; }

# id and targets of each sample (or batch row), one line each
targets_of() {
	$PY -c '
import msgpack, sys
for f in msgpack.Unpacker(sys.stdin.buffer, raw=False, strict_map_key=False):
    if f["kind"] == "sample":
        assert "label" not in f and "class" not in f
        print(f["id"], ",".join(f["target_names"]), " ".join(map(str, f["targets"])))
    elif f["kind"] == "batch":
        import numpy as np
        t = f["targets"]
        a = np.frombuffer(t["data"], "<f4").reshape(t["shape"])
        for i, r in zip(f["ids"], a):
            print(i, ",".join(f["target_names"]), " ".join("%d" % v for v in r))'
}

@test "imgload --targets: ChestX-ray14's Data_Entry_2017.csv layout, No Finding, sorted union" {
	mkset s 3 >/dev/null
	cat > d.csv <<-'END'
	Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],
	000000.png,Effusion|Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143
	000001.png,No Finding,0,2,81,M,PA,2500,2048,0.171,0.171
	000002.png,Hernia,0,3,81,F,PA,2582,2991,0.143,0.143
	END
	"$BIN/imgload" -q --targets d.csv s/img | targets_of > got
	cat > want <<-'END'
	000000.png Cardiomegaly,Effusion,Hernia 1 1 0
	000001.png Cardiomegaly,Effusion,Hernia 0 0 0
	000002.png Cardiomegaly,Effusion,Hernia 0 0 1
	END
	diff want got
	# --target-names: that order; a name no finding has is 0 (ChestX-ray14 annotates all)
	"$BIN/imgload" -q --targets d.csv --target-names Hernia,Effusion s/img | targets_of | head -1 > got
	[ "$(cat got)" = "000000.png Hernia,Effusion 0 1" ]
}

@test "imgload --targets: one column per label (CheXpert), CRLF, uncertain and empty unknown, --uncertain" {
	mkset s 3 >/dev/null
	printf 'Path,Sex,Cardiomegaly,Pleural Effusion\r\n000000.png,F,1.0,\r\n000001.png,M,-1.0,0.0\r\n"000002.png",M,,1\r\n' > c.csv
	"$BIN/imgload" -q --targets c.csv --target-names Cardiomegaly,'Pleural Effusion' s/img | targets_of > got
	printf '%s\n' '000000.png Cardiomegaly,Pleural Effusion 1 -1' '000001.png Cardiomegaly,Pleural Effusion -1 0' \
	    '000002.png Cardiomegaly,Pleural Effusion -1 1' > want
	diff want got
	"$BIN/imgload" -q --targets c.csv --target-names Cardiomegaly --uncertain ones s/img | targets_of | sed -n 2p > got
	[ "$(cat got)" = "000001.png Cardiomegaly 1" ]
	"$BIN/imgload" -q --targets c.csv --target-names Cardiomegaly --uncertain zeros s/img | targets_of | sed -n 2p > got
	[ "$(cat got)" = "000001.png Cardiomegaly 0" ]
}

@test "a label map harmonises ChestX-ray14 and CheXpert onto one target list; batch takes both" {
	mkset s 2 >/dev/null
	printf 'Image Index,Finding Labels\n000000.png,Effusion|Hernia\n000001.png,No Finding\n' > nih.csv
	printf 'Path,Pleural Effusion\n000000.png,1.0\n000001.png,-1.0\n' > chx.csv
	printf '%s\n' '# column	value	target	verdict' 'Finding Labels	Effusion	Effusion	1' \
	    'Finding Labels	Hernia	Hernia	1' 'Pleural Effusion	1	Effusion	1' 'Pleural Effusion	0	Effusion	0' \
	    'Pleural Effusion	-1	Effusion	unknown' 'Pleural Effusion		Effusion	unknown' > map.tsv
	{ "$BIN/imgload" -q --targets nih.csv --label-map map.tsv s/img
	  "$BIN/imgload" -q --targets chx.csv --label-map map.tsv s/img; } | "$BIN/batch" 4 | targets_of > got
	# CheXpert never annotates Hernia: unknown (-1), never negative
	printf '%s\n' '000000.png Effusion,Hernia 1 1' '000001.png Effusion,Hernia 0 0' \
	    '000000.png Effusion,Hernia 1 -1' '000001.png Effusion,Hernia -1 -1' > want
	diff want got
	run_split "$BIN/imgload" --targets chx.csv --label-map map.tsv s/img
	[ "$status" -eq 0 ]
	[[ "$err" == *"never annotated there (unknown): Hernia"* ]]
}

@test "imgload --targets errors: file:line, exit 1, nothing on stdout" {
	mkset s 2 >/dev/null
	check() {       # CSV-TEXT MAP-TEXT WANT
		printf "$1" > t.csv
		local map=()
		[ -z "$2" ] || { printf "$2" > m.tsv; map=(--label-map m.tsv); }
		run_split "$BIN/imgload" --targets t.csv "${map[@]}" s/img
		[ "$status" -eq 1 ] || { echo "status $status for $1"; false; }
		[ ! -s "$T/out" ]
		[[ "$err" == *"$3"* ]] || { echo "want '$3', got '$err'"; false; }
	}
	check 'id,a\n000000.png,2\n' '' 'imgload: t.csv:2: column '"'a'"': value '"'2'"' is not 1, 0, -1 or empty'
	check 'id,a\n000000.png,1\n"000001.png,1\n' '' 'imgload: t.csv:3: unterminated quote'
	check 'id,a,b\n000000.png,1\n' '' 't.csv:2: 2 fields, but column '"'b'"' is field 3'
	check 'id,a\n000000.png,1\n000000.png,0\n' '' "t.csv:3: '000000.png' has another row"
	check 'id,a\n000000.png,0\n' 'a\t1\tA\t1\n' "t.csv:2: column 'a': value '0' is not in the label map"
	check 'id,a\n000000.png,1\n' 'a\t1\tA\tperhaps\n' "m.tsv:1: 'perhaps' is not 1, 0 or unknown"
	check 'id\n000000.png\n' '' 't.csv:1: no label column'
	run_split "$BIN/imgload" --targets missing.csv s/img
	[ "$status" -eq 1 ]
	[[ "$err" == "imgload: missing.csv: No such file"* ]]
	expect_usage_errors imgload /dev/null "--label-map m.tsv s/img" "--targets t.csv --labels t.csv s/img" \
	    "--target-names a s/img" "--targets t.csv --uncertain maybe s/img"
}

@test "imgload --targets: an image without a row stops the run, or with --unlabeled skip is counted" {
	mkset s 3 >/dev/null
	printf 'id,a\n000000.png,1\n000002.png,0\n' > t.csv
	run_split "$BIN/imgload" --targets t.csv s/img
	[ "$status" -eq 1 ]
	[[ "$err" == *"no row for id '000001.png' in t.csv (--unlabeled skip to leave it out)"* ]]
	run_split "$BIN/imgload" --targets t.csv --unlabeled skip s/img
	[ "$status" -eq 0 ]
	[[ "$err" == *"1 sample without a row in t.csv skipped"* ]]
	[ "$(targets_of < "$T/out" | wc -l)" -eq 2 ]
}

@test "batch refuses to mix target lists, and multi-label with single-label samples; augment keeps targets" {
	mkset s 2 >/dev/null
	printf 'id,a,b\n000000.png,1,0\n000001.png,0,1\n' > t.csv
	"$BIN/imgload" -q --targets t.csv s/img > ab.mpk
	"$BIN/imgload" -q --targets t.csv --target-names b,a s/img > ba.mpk
	run_split sh -c "cat ab.mpk ba.mpk | '$BIN/batch' 8"
	[ "$status" -eq 1 ]
	[[ "$err" == *"batch: sample 000000.png: target 1 is 'b', but earlier samples call it 'a'"* ]]
	mkdir -p cls/x && cp s/img/000000.png cls/x/
	run_split sh -c "{ cat ab.mpk; '$BIN/imgload' -q cls; } | '$BIN/batch' 8"
	[ "$status" -eq 1 ]
	[[ "$err" == *"has no targets, but the samples before it had"* ]]
	"$BIN/augment" --seed 1 --rotate 10 < ab.mpk | targets_of > got
	targets_of < ab.mpk > want
	diff want got
}

@test "multi-label end to end: imgload --targets | batch | nntrain | nninfer | metrics | plot, per-label AUC as scipy, the never-annotated label NaN" {
	mkset tr 400 --seed 1 >/dev/null
	mkset te 200 --seed 2 --unknown 0 >/dev/null
	"$BIN/imgload" -q --targets te/targets.csv te/img > te.mpk
	"$BIN/imgload" -q --targets tr/targets.csv --epochs 6 --shuffle --seed 1 tr/img | "$BIN/batch" 16 \
	    | timeout 120 "$BIN/nntrain" -q --task multilabel --arch small_cnn --lr 3e-3 --threads 1 --val te.mpk \
	      --save m.mpk > hist.mpk
	timeout 60 "$BIN/nninfer" --threads 1 --model m.mpk < te.mpk > p.mpk
	$PY - <<-'END'
	import math, msgpack, numpy as np
	from scipy.stats import mannwhitneyu
	m = next(msgpack.Unpacker(open("m.mpk", "rb"), raw=False))
	assert m["task"] == "multilabel", m
	assert m["target_names"] == ["disc", "bar", "cross", "never"]
	assert m["trained"] == [True, True, True, False]
	assert m["positives"][3] == 0 and m["negatives"][3] == 0 and min(m["positives"][:3]) > 0
	H = list(msgpack.Unpacker(open("hist.mpk", "rb"), raw=False))
	assert len(H) == 6 and all(0 <= h["val_auc"] <= 1 and h["val_loss"] > 0 for h in H), H[-1]
	P = list(msgpack.Unpacker(open("p.mpk", "rb"), raw=False))
	assert len(P) == 200 and all("score" not in p and "pred" not in p for p in P)
	S = np.array([p["scores"] for p in P]); Y = np.array([p["targets"] for p in P])
	assert all(p["trained"] == [True, True, True, False] for p in P)
	assert np.isnan(S[:, 3]).all() and np.isfinite(S[:, :3]).all()
	for j, name in enumerate(["disc", "bar", "cross"]):
	    pos, neg = S[Y[:, j] == 1, j], S[Y[:, j] == 0, j]
	    auc = mannwhitneyu(pos, neg).statistic / len(pos) / len(neg)
	    print(name, auc)
	    assert auc > 0.8, (name, auc)
	# nntrain's own val_auc (ml_mean_auc, stats.c) agrees with scipy's on the trained labels
	aucs = [mannwhitneyu(S[Y[:, j] == 1, j], S[Y[:, j] == 0, j]).statistic
	        / (Y[:, j] == 1).sum() / (Y[:, j] == 0).sum() for j in range(3)]
	assert abs(H[-1]["val_auc"] - np.mean(aucs)) < 1e-6, (H[-1]["val_auc"], aucs)
	END
	# on to metrics and plot: thresholds chosen on a validation set, each
	# label's AUC as scipy's above, "never" named as not trained, and one
	# figure with a ROC curve per trained label
	mkset va 100 --seed 3 --unknown 0 >/dev/null
	"$BIN/imgload" -q --targets va/targets.csv va/img | timeout 60 "$BIN/nninfer" --threads 1 --model m.mpk > pv.mpk
	"$BIN/metrics" --threshold-from pv.mpk p.mpk > ev.mpk
	"$BIN/metrics" --threshold-from pv.mpk --format text p.mpk > ev.txt
	$PY - <<-'END'
	import msgpack, numpy as np
	from scipy.stats import mannwhitneyu
	P = list(msgpack.Unpacker(open("p.mpk", "rb"), raw=False))
	S = np.array([p["scores"] for p in P]); Y = np.array([p["targets"] for p in P])
	E = list(msgpack.Unpacker(open("ev.mpk", "rb"), raw=False))
	L = {f["label"]: f for f in E if f["kind"] == "label_metrics"}
	summ = [f for f in E if f["kind"] == "multilabel_summary"][0]
	assert L["never"]["status"] == "not-trained", L["never"]
	aucs = []
	for j, name in enumerate(["disc", "bar", "cross"]):
	    pos, neg = S[Y[:, j] == 1, j], S[Y[:, j] == 0, j]
	    aucs.append(mannwhitneyu(pos, neg).statistic / len(pos) / len(neg))
	    assert abs(L[name]["auc"] - aucs[-1]) < 1e-6, (name, L[name]["auc"], aucs[-1])
	assert abs(summ["macro_auc"] - np.mean(aucs)) < 1e-6, (summ["macro_auc"], aucs)
	assert summ["threshold_source"] and summ["threshold_method"] != "fixed", summ
	END
	grep -q never ev.txt
	if command -v gnuplot >/dev/null; then
		"$BIN/metrics" --threshold-from pv.mpk --roc p.mpk | "$BIN/plot" --roc -o roc.png
		[ "$(head -c 8 roc.png | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
	fi
	# a multi-label model: Grad-CAM and a binary threshold are refused
	expect_usage_errors nninfer te.mpk "--model m.mpk --cam" "--model m.mpk --threshold 0.3"
	# samples whose targets are not the model's are refused, not silently misread
	"$BIN/imgload" -q --targets te/targets.csv --target-names bar,disc te/img > swapped.mpk
	run_split "$BIN/nninfer" --model m.mpk < swapped.mpk
	[ "$status" -eq 1 ]
	[ ! -s "$T/out" ]
	[[ "$err" == *"its target_names are not those of the model m.mpk"* ]]
}

@test "nntrain multi-label: --resume keeps task, targets and counts; task/stream mismatches refused" {
	mkset tr 48 --seed 3 >/dev/null
	"$BIN/imgload" -q --targets tr/targets.csv --epochs 2 tr/img | "$BIN/batch" 16 > b.mpk
	timeout 60 "$BIN/nntrain" -q --arch small_cnn --max-steps 4 --checkpoint ck.mpk < b.mpk > /dev/null
	timeout 60 "$BIN/nntrain" -q --resume ck.mpk --save r.mpk < b.mpk > /dev/null
	timeout 60 "$BIN/nntrain" -q --arch small_cnn --save s.mpk < b.mpk > /dev/null
	$PY - <<-'END'
	import msgpack
	c, r, s = (next(msgpack.Unpacker(open(f, "rb"), raw=False)) for f in ("ck.mpk", "r.mpk", "s.mpk"))
	for k in ("task", "target_names", "trained", "positives", "negatives"):
	    assert r[k] == s[k], (k, r[k], s[k])
	assert c["positives"] != s["positives"] and c["task"] == "multilabel"
	END
	run_split "$BIN/nntrain" -q --arch small_cnn --task binary < b.mpk
	[ "$status" -eq 1 ]
	[[ "$err" == *"--task binary: the stream is multi-label (targets); use --task multilabel"* ]]
	mkdir -p cls/a cls/b && cp tr/img/00000[0-3].png cls/a/ && cp tr/img/00000[4-7].png cls/b/
	"$BIN/imgload" -q cls | "$BIN/batch" 4 > single.mpk
	run_split "$BIN/nntrain" -q --arch small_cnn --task multilabel < single.mpk
	[ "$status" -eq 1 ]
	[[ "$err" == *"--task multilabel: the stream has no targets (imgload --targets)"* ]]
	run_split "$BIN/nntrain" -q --resume ck.mpk --task binary < b.mpk
	[ "$status" -eq 1 ]
	[[ "$err" == *"--task binary: ck.mpk is a multi-label model"* ]]
	run_split "$BIN/nntrain" -q --resume ck.mpk < single.mpk
	[ "$status" -eq 1 ]
	[[ "$err" == *"is a multi-label model but the stream is single-label"* ]]
	run_split "$BIN/nntrain" -q --arch small_cnn --class-weight 1,2 < b.mpk
	[ "$status" -eq 1 ]
	[[ "$err" == *"--class-weight does not apply"* ]]
}

@test "splitsets on a multi-label stream: patient groups kept whole, targets kept, stratified none/some" {
	mkset s 60 >/dev/null
	"$BIN/imgload" -q --targets s/targets.csv s/img > all.mpk
	{ echo id,group; for i in $(seq 0 59); do printf '%06d.png,P%d\n' "$i" $((i / 3)); done; } > g.csv
	"$BIN/splitsets" --fractions 0.8,0.2 --group table --groups g.csv --seed 1 \
	    --train tr.mpk --val va.mpk all.mpk > assign.mpk
	$PY - <<-'END'
	import msgpack
	A = [f for f in msgpack.Unpacker(open("assign.mpk", "rb"), raw=False) if f["kind"] == "assignment"]
	sets = {}
	for a in A:
	    sets.setdefault(a["group"], set()).add(a["set"])
	    assert a["class"] in ("none", "some")
	assert all(len(s) == 1 for s in sets.values()), "a patient in two sets"
	tr = list(msgpack.Unpacker(open("tr.mpk", "rb"), raw=False))
	va = list(msgpack.Unpacker(open("va.mpk", "rb"), raw=False))
	assert len(tr) + len(va) == 60 and 6 <= len(va) <= 18, (len(tr), len(va))
	assert all(len(f["targets"]) == 4 for f in tr + va)
	END
}

# --dist: each rank weighs its gradients by its known target entries
# (dist_step_begin), so 2 ranks x batch 3 equal 1 rank x batch 6 even when
# the ranks' batches hold different numbers of known targets
@test "nntrain --dist multi-label: 2 ranks x batch 3 = 1 rank x batch 6 (the masked mean over every rank)" {
	command -v mpirun > /dev/null || skip "mpirun is not installed (openmpi-bin)"
	[ -z "${RADPIPE_SAN:-}" ] || skip "Open MPI under ASan"
	ldd "$BIN/nntrain" | grep -q libmpi || skip "nntrain was built without MPI (make MPI=0)"
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
	mkset s 36 --seed 4 --unknown 0.7 >/dev/null
	"$BIN/imgload" -q --targets s/targets.csv --epochs 2 --shuffle --seed 1 s/img > s.mpk
	$PY "$ROOT/tests/lib/shard_samples.py" s.mpk 3 2 sh
	for r in 0 1; do "$BIN/batch" 3 < sh.$r > b.$r; done
	"$BIN/batch" 6 < sh.all > b.all
	O="-q --arch small_cnn --lr 1e-3 --seed 3 --threads 1 --bn-frozen --head 0,0"
	timeout 120 mpirun -np 2 bash -c 'exec "$0" "$@" < b.$OMPI_COMM_WORLD_RANK > h.$OMPI_COMM_WORLD_RANK' \
	    "$BIN/nntrain" $O --save m2.mpk
	timeout 60 "$BIN/nntrain" $O --save m1.mpk < b.all > h1
	run $PY "$ROOT/tests/lib/param_diff.py" m1.mpk m2.mpk 1e-5
	echo "$output"
	[ "$status" -eq 0 ]
	$PY - <<-'END'
	import msgpack
	a, b = (next(msgpack.Unpacker(open(p, "rb"), raw=False)) for p in ("m1.mpk", "m2.mpk"))
	assert a["positives"] == b["positives"] and a["negatives"] == b["negatives"], (a, b)
	END
}
