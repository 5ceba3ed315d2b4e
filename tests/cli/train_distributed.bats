#!/usr/bin/env bats
# pipelines/train-distributed (issue 17): the paper on N ranks, each rank
# its own imgload --shard R/N | augment | batch | nntrain.  The data side
# runs here under the launchers' variables and under mpirun -np 2; the
# end-to-end MPI run needs an nntrain built with MPI (--dist) and skips
# without it.

setup() {
	load ../lib/io-common
	cd "$T"
	TD=$ROOT/pipelines/train-distributed
	unset OMPI_COMM_WORLD_RANK OMPI_COMM_WORLD_SIZE OMPI_COMM_WORLD_LOCAL_SIZE PMI_RANK PMI_SIZE \
		SLURM_PROCID SLURM_NTASKS SLURM_CPUS_PER_TASK MPI_LOCALNRANKS RADPIPE_SHARD
}

# mpirun, as root too (CI runs as root), on more ranks than cores
mpirun_n() {
	local n=$1; shift
	command -v mpirun >/dev/null || skip "mpirun is not installed (apt-get install openmpi-bin)"
	local root=()
	[ "$(id -u)" != 0 ] || root=(--allow-run-as-root)
	timeout 120 mpirun "${root[@]}" --oversubscribe -np "$n" "$@"
}

has_dist() { "$BIN/nntrain" --help 2>&1 | grep -q -- --dist; }

@test "train-distributed: shellcheck-clean; --help names mpirun and srun; bad arguments exit 2" {
	shellcheck "$TD"
	run "$TD" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"mpirun -np N"* ]] && [[ "$output" == *"srun -n N"* ]]
	for a in --bogus lower=1 "1X=2" extra; do
		run "$TD" "$a"
		[ "$status" -eq 2 ] || { echo "$a: $status"; false; }
		[[ "$output" == "train-distributed: usage"* ]] || [[ "$output" == "usage: train-distributed"* ]]
	done
	SLURM_PROCID=2 SLURM_NTASKS=2 run "$TD" --plan
	[ "$status" -eq 2 ] && [[ "$output" == *"SLURM_PROCID=2 and SLURM_NTASKS=2 are not a rank below a size"* ]]
	RADPIPE_SHARD=3/2 run "$ROOT/pipelines/hello-world"
	[ "$status" -eq 2 ] && [[ "$output" == *"RADPIPE_SHARD=3/2: expected RANK/SIZE"* ]]
}

# each rank's shard from each launcher's variables: 65 TRAIN images on 3
# ranks give 21 each (--shard-even), VAL's 10 give 4, 3, 3
@test "train-distributed --plan: the rank from OMPI_*, PMI_* or SLURM_*; equal TRAIN shards, VAL whole" {
	need_data
	run "$TD" --plan
	[ "$status" -eq 0 ] && [[ "$output" == *"rank 0 of 1: TRAIN 65 images per epoch, VAL 10; batch 5 here, 5 per step"* ]]
	local r val=0 out
	for r in 0 1 2; do
		out=$(SLURM_PROCID=$r SLURM_NTASKS=3 "$TD" --plan BATCH=4)
		[[ "$out" == *"rank $r of 3: TRAIN 21 images per epoch, VAL "*"; batch 4 here, 12 per step in all"* ]]
		val=$((val + $(echo "$out" | sed 's/.*VAL \([0-9]*\);.*/\1/')))
	done
	[ "$val" -eq 10 ]
	out=$(PMI_RANK=1 PMI_SIZE=2 SLURM_PROCID=0 SLURM_NTASKS=3 "$TD" --plan)
	[[ "$out" == *"rank 1 of 2: TRAIN 32 images per epoch, VAL 5;"* ]]
	out=$(OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_LOCAL_SIZE=2 PMI_RANK=1 PMI_SIZE=4 "$TD" --plan)
	[[ "$out" == *"rank 0 of 2: TRAIN 32 images per epoch"*"; $(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 )) threads"* ]]
}

# under mpirun -np 2 the two ranks see disjoint halves of TRAIN
@test "train-distributed under mpirun -np 2: rank 0 and rank 1, 32 TRAIN images each" {
	need_data
	mpirun_n 2 "$TD" --plan > plan.txt
	cat plan.txt
	grep -q 'rank 0 of 2: TRAIN 32 images per epoch' plan.txt
	grep -q 'rank 1 of 2: TRAIN 32 images per epoch' plan.txt
	# and the data each rank's imgload gives: disjoint, 64 of the 65 in all
	mpirun_n 2 bash -c '"$0" -q --size 1 --shuffle --seed 1 --shard auto --shard-even "$1" | "$2" --width 200' \
		"$BIN/imgload" "$RADPIPE_DATA/TRAIN" "$BIN/peek" | grep -o ' id="[^"]*"' | sort > ids.txt
	[ "$(wc -l < ids.txt)" -eq 64 ]
	[ -z "$(uniq -d ids.txt)" ]
}

# one rank is hello-world itself: the same training history
@test "train-distributed on 1 rank: the results of hello-world, the same history" {
	need_data
	THREADS=1 ARCH=small_cnn SIZE=32 EPOCHS=2 LR=1e-3 run "$TD" OUT="$T/td"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *"train-distributed: 1 rank, batch 5 each"* ]]
	for f in model.mpk history.mpk val-predictions.mpk test-predictions.mpk summary.md curves.png; do
		[ -s "$T/td/$f" ]
	done
	grep -q '^RANKS=1$' "$T/td/settings.txt"
	THREADS=1 ARCH=small_cnn SIZE=32 EPOCHS=2 LR=1e-3 OUT="$T/hw" run "$ROOT/pipelines/hello-world"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	for d in td hw; do
		"$BIN/peek" --width 1000 "$T/$d/history.mpk" | sed 's/ seconds=[^ ]*//; s/ images_per_s=[^ ]*//; s/ peak_rss_mb=[^ ]*//' > "$d.txt"
	done
	cat td.txt
	diff td.txt hw.txt
}

@test "train-distributed: several ranks without an MPI nntrain are refused, clearly" {
	! has_dist || skip "this nntrain has --dist"
	SLURM_PROCID=0 SLURM_NTASKS=2 run "$TD" OUT="$T/x"
	[ "$status" -eq 1 ]
	[[ "$output" == *"was built without MPI (no --dist): 2 ranks would train 2 separate models"* ]]
	[ ! -e "$T/x" ]
}

# the real thing: 2 ranks, one model, rank 0 writes the results
@test "train-distributed under mpirun -np 2: one model, rank 0's results" {
	need_data
	has_dist || skip "nntrain has no --dist (built without MPI): the data-parallel run is not tested"
	ARCH=small_cnn SIZE=32 EPOCHS=2 LR=1e-3 mpirun_n 2 "$TD" OUT="$T/td2" > out.txt 2>&1 || { cat out.txt; false; }
	for f in model.mpk history.mpk val-predictions.mpk test-predictions.mpk summary.md; do
		[ -s "$T/td2/$f" ]
	done
	grep -q '^RANKS=2$' "$T/td2/settings.txt"
	grep -q 'Data-parallel on 2 ranks (train-distributed): batch 5 per rank, 10 in all per step' "$T/td2/summary.md"
	[ "$("$BIN/peek" --count "$T/td2/history.mpk" | awk '$1 == "metrics" { print $2 }')" -eq 2 ]
}

# make -C pipelines train-distributed NP=1: no mpirun, one rank, its folder
@test "make -C pipelines train-distributed NP=1: results/train-distributed+NP-1<TAG>/" {
	need_data
	run make --no-print-directory -C "$ROOT/pipelines" train-distributed NP=1 RESULTS="$T/res" \
		ARCH=small_cnn SIZE=32 EPOCHS=1 LR=1e-3 MPIRUN=false
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	d="$T/res/train-distributed+NP-1+EPOCHS-1+SIZE-32+ARCH-small_cnn+LR-1e-3"
	[ -s "$d/summary.md" ] && grep -q '^RANKS=1$' "$d/settings.txt"
}
