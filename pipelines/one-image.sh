#!/bin/sh
# one-image.sh BIN BATCHES I OUT: image I of the first x record of the batch
# stream BATCHES (f32) as a batch stream of one image (cords-eig --at FILE),
# without Python: the record as .npy (cords-cat --npy-dir), its header with the
# batch dimension made 1 (padded with spaces to its length), image I's bytes.
set -e
bin=$1 in=$2 i=$3 out=$4
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$bin/cords-cat" -n x --npy-dir "$d" "$in"
f=$d/x.npy
hl=$(od -An -t u2 -j 8 -N 2 "$f" | tr -d ' ')
head -c $((10 + hl)) "$f" >"$d/head"
b=$(grep -ao "'shape': ([0-9]*," "$d/head" | sed "s/.*(\([0-9]*\),/\1/")
[ "$i" -lt "$b" ] || { echo "one-image.sh: $in: image $i of a batch of $b" >&2; exit 1; }
per=$(( ($(wc -c <"$f") - 10 - hl) / b ))
sed "s/'shape': ($b,/'shape': (1,$(printf '%*s' $((${#b} - 1)) '')/" "$d/head" >"$d/one.npy"
[ "$(wc -c <"$d/one.npy")" -eq $((10 + hl)) ] || { echo "one-image.sh: unexpected .npy header" >&2; exit 1; }
tail -c +$((10 + hl + i * per + 1)) "$f" | head -c "$per" >>"$d/one.npy"
"$bin/cords-cat" --from-npy x="$d/one.npy" -o "$out"
