#!/bin/sh
# bench/prep: the ImageNet test transform (decode, resize 256, centre crop 224,
# normalise) in images/s on 2 cores: cords-prep (2 worker threads, writing its
# zstd stream to /dev/null; x f32 normalised, and x u8 with the normalisation
# left to the consumer) against torchvision's DataLoader (2 worker processes)
# on the same JPEG files, on each PyTorch (bench/torch.sh: PyPI's torchvision,
# the anchor, then Debian's). Target: cords-prep at least 2x faster. Besides wall
# time, both report images per CPU-second (all processes), which a busy
# machine disturbs less.
#   sh bench/prep/run.sh [N_IMAGES]      (from the top directory, after make)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/bench/torch.sh"
BIN=${BIN:-$top/bin}
N=${1:-300}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$top/bench/prep/make_images.py" "$work/img" "$N"
"$BIN/cords-unpack" --dataset files -o "$work/samples.tzst" "$work/img"
machine
echo "$N JPEGs, $(du -sh "$work/img" | cut -f1)"
for mode in f32 u8; do
	opt=$([ $mode = u8 ] && echo --u8 || true)
	/usr/bin/time -f "%e %U %S" -o "$work/time" "$BIN/cords-prep" --dataset files --split test --workers 2 --batch 64 $opt \
		"$work/samples.tzst" > /dev/null
	read -r wall user sys < "$work/time"
	echo "$wall $user $sys $N $mode" | awk '{printf "cords-prep (2 threads, x %s): %d images in %.2f s: %.1f images/s wall, %.1f images per CPU-second\n", $5, $4, $1, $4 / $1, $4 / ($2 + $3)}'
done
torches > "$work/torches"
while read -r label py; do
	name="torchvision $("$py" -c 'import torchvision; print(torchvision.__version__.split("+")[0])' 2>/dev/null) ($label)"
	OMP_NUM_THREADS=1 "$py" "$top/bench/prep/torch_loader.py" "$work/img" </dev/null | sed "s/^/$name: /"
done < "$work/torches"
