#!/bin/sh
# bench/conv: where the CPU backend's convolution time goes, per shape and pass, for each
# convolution algorithm (CORDS_CONV=direct|winograd|auto, see cords(7)), on the bench/train step
# (CordsNet-R8 at 224, batch 2, one anneal step; options go to torch_step.py, e.g. the short
# protocol --spont 20 --stim 30 --blank 20 --readouts 10 --window 5). Prints the step time of
# each algorithm and oneDNN's own per-call times summed over one step (ONEDNN_VERBOSE=1).
#   sh bench/conv/run.sh [ALGOS="direct winograd auto"] [torch_step.py options]
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$top/bin}
ALGOS=${ALGOS:-direct winograd auto}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
/usr/bin/python3 "$top/bench/train/torch_step.py" "$W" --write-only "$@"
args=$(cat "$W/cords.args")
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, OMP_NUM_THREADS=$OMP_NUM_THREADS"
for a in $ALGOS; do
	# 3 steps: the first makes the primitives; the fastest of the other two counts
	rm -f "$W/log.tsv"
	CORDS_CONV=$a "$BIN/cords-anneal" -m "$W/model.tzst" $args --slope-start 0.5 --slope-step 0 --epochs 3 \
		--steps 3 --lr 1e-5 --clip 1e-4 --log "$W/log.tsv" -o "$W/out.tzst" "$W/batch.tzst"
	echo "$a: step times$(awk -F'\t' '$1 == "train" { if (!b) b = $5; printf " %.2f", b / $13 }' "$W/log.tsv") s"
done
for a in $ALGOS; do
	echo "## $a: ms per step in oneDNN, by pass, implementation and shape (one step)"
	CORDS_CONV=$a ONEDNN_VERBOSE=1 "$BIN/cords-anneal" -m "$W/model.tzst" $args --slope-start 0.5 --slope-step 0 \
		--epochs 2 --steps 2 --lr 1e-5 --clip 1e-4 -o "$W/out.tzst" "$W/batch.tzst" 2>&1 |
		awk -F, '/^onednn_verbose,exec/ && $4 == "convolution" { t[$6 " " $5 " " $(NF-1)] += $NF; all += $NF }
			END { for (k in t) printf "%8.0f %s\n", t[k] / 2, k; printf "%8.0f all convolutions\n", all / 2 }' |
		sort -k2,2 -k4,4
done
