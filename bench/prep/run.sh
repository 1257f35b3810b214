#!/bin/sh
# bench/prep: the ImageNet test transform (decode, resize 256, centre crop 224,
# normalise) in images/s on 2 cores: cords-prep (2 worker threads, writing its
# zstd stream to /dev/null) against torchvision's DataLoader (2 worker
# processes) on the same JPEG files. Target: cords-prep at least 2x faster.
#   sh bench/prep/run.sh [N_IMAGES]      (from the top directory, after make)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$top/bin}
N=${1:-300}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$top/bench/prep/make_images.py" "$work/img" "$N"
"$BIN/cords-unpack" --dataset files -o "$work/samples.tzst" "$work/img"
echo "$N JPEGs, $(du -sh "$work/img" | cut -f1); nproc: $(nproc)"
t0=$(date +%s.%N)
"$BIN/cords-prep" --dataset files --split test --workers 2 --batch 64 "$work/samples.tzst" > /dev/null
t1=$(date +%s.%N)
echo "$t0 $t1 $N" | awk '{printf "cords-prep (2 threads): %d images in %.2f s: %.1f images/s\n", $3, $2 - $1, $3 / ($2 - $1)}'
OMP_NUM_THREADS=1 /usr/bin/python3 "$top/bench/prep/torch_loader.py" "$work/img"
