#!/bin/sh
# bench/train: one stage-5 (anneal) training step on CordsNet-R8 at 224x224, batch 2, the full
# protocol (100 spontaneous + 100 stimulus + 100 blank steps, 30 read-outs, spont penalty), by
# cords-anneal and by the literal PyTorch implementation (bench/train/torch_step.py) on each
# PyTorch (bench/torch.sh: PyPI's, the anchor, then Debian's), all on 2 threads. Prints the wall
# time of the step and the peak memory of each. Run on a quiet machine:
#   [REPEAT=N] sh bench/train/run.sh [--size 224 --depth 8 ...]   (options go to torch_step.py)
# Each side runs the step REPEAT times (default 2) on the same batch and reports its fastest:
# a shared machine's noise only ever slows a step down.
# The targets (issue 5): cords at least 3x faster, at most half the peak memory.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/bench/torch.sh"
BIN=${BIN:-$top/bin}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMP_NUM_THREADS=2
# Idle OpenMP threads sleep soon (cords(7), ENVIRONMENT; PyTorch's libgomp reads it
# too): with the default spin a busy machine makes every side several times slower.
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
REPEAT=${REPEAT:-2}
machine
torches > "$W/torches"
read -r _ py0 < "$W/torches" || { echo "bench/train: no torch (make bench-deps)" >&2; exit 1; }
"$py0" "$top/bench/train/torch_step.py" "$W" --write-only "$@"
# cords: the same step; its own log gives the step's time (img_s), /usr/bin/time the peak RSS.
args=$(cat "$W/cords.args")
/usr/bin/time -f '%e %M' -o "$W/cords.time" "$BIN/cords-anneal" -m "$W/model.tzst" $args --slope-start 0.5 \
	--slope-step 0 --epochs "$REPEAT" --steps "$REPEAT" --lr 1e-5 --clip 1e-4 --log "$W/log.tsv" -o "$W/out.tzst" "$W/batch.tzst"
steps=$(awk -F'\t' '$1 == "train" { if (!b) b = $5; printf " %.2f", b / $13 }' "$W/log.tsv")
step=$(echo $steps | tr ' ' '\n' | sort -n | head -n 1)
read -r ce cm < "$W/cords.time"
[ "$REPEAT" -gt 1 ] && echo "cords: steps$steps s"
echo "cords: one step (fastest) $step s (process $ce s with loading), peak RSS $((cm / 1024)) MiB"
# The literal implementation keeps every step's activations for autograd: at the full protocol
# it can outgrow the machine, and the kernel's OOM killer ends it; that is reported, not hidden.
while read -r label py; do
	name=$(torch_name "$label" "$py")
	ok=1
	/usr/bin/time -f '%e %M' -o "$W/torch.time" "$py" "$top/bench/train/torch_step.py" "$W/t" --repeat "$REPEAT" "$@" \
		</dev/null >"$W/torch.out" || ok=0
	sed "s/^/$name: /" "$W/torch.out"
	if [ $ok = 1 ]; then
		read -r te tm < "$W/torch.time"
		echo "$name: process $te s (its step time above), peak RSS $((tm / 1024)) MiB"
	else
		echo "$name: failed (137: killed, e.g. out of memory: see dmesg) after" \
			"$(tail -n 1 "$W/torch.time"), machine memory $(free -g | awk '/^Mem/ { print $2 }') GiB"
	fi
done < "$W/torches"
