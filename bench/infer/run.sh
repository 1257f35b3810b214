#!/bin/sh
# Inference speed of cords-infer on CordsNet-R8 at 224, side by side with the
# literal PyTorch implementation and with oneDNN alone on the same
# convolutions. Run on a quiet machine, from the top of the tree, after make:
#   sh bench/infer/run.sh [STEPS]      STEPS spontaneous + STEPS stimulus (default 100)
# Environment: THREADS (default 2), TORCH=0 to skip PyTorch.
# The PyTorch times exclude its start-up and model loading; cords-infer's include them.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$top/bin
S=${1:-100}
THREADS=${THREADS:-2}
PY=/usr/bin/python3
export OMP_NUM_THREADS=$THREADS
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -x "$BIN/cords-infer" ] || { echo "run make first" >&2; exit 1; }

"$BIN/cords-init" -q --dataset imagenet --seed 1 -o "$T/r8.tzst"
$PY - "$T" <<PY
import sys; sys.path.insert(0, "$top/testdata/model")
import numpy as np, cstream
t = sys.argv[1]
x = np.random.default_rng(0).integers(0, 256, (8, 3, 224, 224), dtype=np.uint8)
cstream.write(t + "/b8.tzst", [("x", x)])
cstream.write(t + "/one.tzst", [("x", x[:1])])
PY
make -s -C "$top" build/bench/convbench

# wall seconds and peak RSS (MB) of a command, from /usr/bin/time -v
timed() {
	/usr/bin/time -v "$@" 2>"$T/time" >/dev/null || { cat "$T/time" >&2; exit 1; }
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s}' "$T/time")
	rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$T/time")
}
INFER="$BIN/cords-infer -q -m $T/r8.tzst"

# Attainable: oneDNN alone, the step's convolutions in their best layouts.
"$top/build/bench/convbench" 8 5 > "$T/cb8"
"$top/build/bench/convbench" 1 10 > "$T/cb1"
att8=$(awk '/step_total/ {print $(NF-1)}' "$T/cb8")
att1=$(awk '/step_total/ {print $(NF-1)}' "$T/cb1")
gf8=$(awk '/step_total/ {for (i = 1; i <= NF; i++) if ($i == "GFLOP") print $(i-1)}' "$T/cb8")
gf1=$(awk '/step_total/ {for (i = 1; i <= NF; i++) if ($i == "GFLOP") print $(i-1)}' "$T/cb1")

# The whole protocol, S + S steps. Cold: the spontaneous phase computed (and
# cached); warm: read from the cache, which is what every further batch of a
# stream costs (the spontaneous phase is computed once per run).
timed $INFER --spont "$S" --stim "$S" --spont-cache "$T/sp" "$T/b8.tzst" -o "$T/c8.tzst"; c8=$wall; rss8=$rss
timed $INFER --spont "$S" --stim "$S" --spont-cache "$T/sp" "$T/b8.tzst"; w8=$wall
timed $INFER --spont "$S" --stim 0 --spont-cache "$T/sp" "$T/b8.tzst"; z8=$wall
timed $INFER --spont "$S" --stim "$S" "$T/one.tzst" -o "$T/c1.tzst"; c1=$wall; rss1=$rss
timed $INFER --spont "$S" --stim "$S" --spont-cache "$T/sp" "$T/one.tzst"; w1=$wall
timed $INFER --spont "$S" --stim 0 --spont-cache "$T/sp" "$T/one.tzst"; z1=$wall
# The stimulus step alone: warm run less the same run with no stimulus steps.
step8=$(echo "($w8 - $z8) / $S" | bc -l)
step1=$(echo "($w1 - $z1) / $S" | bc -l)

echo "CordsNet-R8 at 224, $S + $S steps, $THREADS threads, $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "oneDNN alone, one stimulus step's convolutions: batch 8 $att8 GFLOP/s, batch 1 $att1 GFLOP/s"
row() { printf '%-52s %9.3f %9.2f %8s\n' "$1" "$(echo "$2 / $3" | bc -l)" "$(echo "$3 / $2" | bc -l)" "$4"; }
printf '%-52s %9s %9s %8s\n' "" "images/s" "s/image" "peak MB"
row "cords-infer batch 8, cold (spontaneous phase run)" 8 "$c8" "$rss8"
row "cords-infer batch 8, warm (spontaneous state cached)" 8 "$w8" "-"
row "cords-infer batch 1, cold" 1 "$c1" "$rss1"
row "cords-infer batch 1, warm" 1 "$w1" "-"
if [ "${TORCH:-1}" != 0 ]; then
	/usr/bin/time -v $PY "$top/bench/infer/torch_ref.py" "$T/r8.tzst" "$T/b8.tzst" "$S" "$S" "$THREADS" "$T/t8.npy" >"$T/t8" 2>"$T/time"
	t8=$(awk '{print $2}' "$T/t8"); trss8=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$T/time")
	/usr/bin/time -v $PY "$top/bench/infer/torch_ref.py" "$T/r8.tzst" "$T/one.tzst" "$S" "$S" "$THREADS" "$T/t1.npy" >"$T/t1" 2>"$T/time"
	t1=$(awk '{print $2}' "$T/t1"); trss1=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$T/time")
	row "PyTorch literal batch 8" 8 "$t8" "$trss8"
	row "PyTorch literal batch 1" 1 "$t1" "$trss1"
	printf 'speed-up per image: batch 8 %.2fx cold, %.2fx warm; batch 1 %.2fx cold, %.2fx warm\n' \
		"$(echo "$t8 / $c8" | bc -l)" "$(echo "$t8 / $w8" | bc -l)" "$(echo "$t1 / $c1" | bc -l)" "$(echo "$t1 / $w1" | bc -l)"
	$PY - "$T" <<PY
import sys; sys.path.insert(0, "$top/testdata/model")
import numpy as np, cstream
t = sys.argv[1]
for b in ("8", "1"):
    ours = np.concatenate([v for n, v in cstream.read(t + "/c%s.tzst" % b) if n == "logits"])
    ref = np.load(t + "/t%s.npy" % b)
    err = np.abs(ours - ref) / (1e-5 + 1e-4 * np.abs(ref))
    print("batch %s: logits within %.3g x tolerance (1e-4 rel, 1e-5 abs) of PyTorch" % (b, err.max()))
PY
fi
printf 'stimulus step: batch 8 %.1f ms = %.1f GFLOP/s = %.0f%% of attainable; batch 1 %.1f ms = %.1f GFLOP/s = %.0f%%\n' \
	"$(echo "$step8 * 1000" | bc -l)" "$(echo "$gf8 / $step8" | bc -l)" "$(echo "100 * $gf8 / $step8 / $att8" | bc -l)" \
	"$(echo "$step1 * 1000" | bc -l)" "$(echo "$gf1 / $step1" | bc -l)" "$(echo "100 * $gf1 / $step1 / $att1" | bc -l)"
