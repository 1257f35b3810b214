#!/bin/sh
# Inference speed of cords-infer on CordsNet-R8 at 224, fp32 and (where the
# CPU has AVX512_BF16 or AMX) --precision bf16, side by side with the literal
# PyTorch implementation on PyPI's torch (the anchor: what `pip install torch`
# gives a user; the venv BENCH_VENV, default /work/venv-torch) and Debian's
# python3-torch, each where it imports, and with oneDNN alone on the same
# convolutions. Run on a quiet machine, from the top of the tree, after make:
#   sh bench/infer/run.sh [STEPS]      STEPS spontaneous + STEPS stimulus (default 100)
# Environment: THREADS (default 2), TORCH=0 to skip PyTorch, BENCH_VENV.
# The PyTorch times exclude its start-up and model loading; cords-infer's include them.
# On 2 quiet cores about 5 min at 100 + 100 steps, 4 of them PyTorch's.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$top/bin
S=${1:-100}
THREADS=${THREADS:-2}
PY=/usr/bin/python3
BENCH_VENV=${BENCH_VENV:-/work/venv-torch}
export OMP_NUM_THREADS=$THREADS
# Idle OpenMP threads sleep soon (cords(7), ENVIRONMENT; PyTorch's libgomp reads it
# too): with the default spin a busy machine makes every side several times slower.
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
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
# a field of convbench's step_total line: its GFLOP/s or the step's GFLOP
att() { awk '/step_total/ {print $(NF-1)}' "$1"; }
gflop() { awk '/step_total/ {for (i = 1; i <= NF; i++) if ($i == "GFLOP") print $(i-1)}' "$1"; }

precs=fp32
"$BIN/cords-infer" -q -m "$T/r8.tzst" --precision bf16 --spont 0 --stim 1 "$T/one.tzst" 2>"$T/bf16.err" >/dev/null &&
	precs="fp32 bf16" || echo "bf16: $(cat "$T/bf16.err")"
for p in $precs; do
	# Attainable: oneDNN alone, the step's convolutions in their best layouts.
	"$top/build/bench/convbench" 8 5 $p > "$T/cb8$p"
	"$top/build/bench/convbench" 1 10 $p > "$T/cb1$p"
	# The whole protocol, S + S steps. Cold: the spontaneous phase computed (and
	# cached); warm: read from the cache, which is what every further batch of a
	# stream costs (the spontaneous phase is computed once per run).
	INFER="$BIN/cords-infer -q -m $T/r8.tzst --precision $p --spont $S"
	timed $INFER --stim "$S" --spont-cache "$T/sp$p" "$T/b8.tzst" -o "$T/c8$p.tzst"; eval "c8$p=$wall rss8$p=$rss"
	timed $INFER --stim "$S" --spont-cache "$T/sp$p" "$T/b8.tzst"; eval "w8$p=$wall"
	timed $INFER --stim 0 --spont-cache "$T/sp$p" "$T/b8.tzst"; z8=$wall
	timed $INFER --stim "$S" "$T/one.tzst" -o "$T/c1$p.tzst"; eval "c1$p=$wall rss1$p=$rss"
	timed $INFER --stim "$S" --spont-cache "$T/sp$p" "$T/one.tzst"; eval "w1$p=$wall"
	timed $INFER --stim 0 --spont-cache "$T/sp$p" "$T/one.tzst"; z1=$wall
	# The stimulus step alone: warm run less the same run with no stimulus steps.
	eval "w8=\$w8$p w1=\$w1$p"
	eval "step8$p=$(echo "($w8 - $z8) / $S" | bc -l) step1$p=$(echo "($w1 - $z1) / $S" | bc -l)"
done

echo "CordsNet-R8 at 224, $S + $S steps, $THREADS threads, $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2);" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
for p in $precs; do
	echo "oneDNN alone, one stimulus step's convolutions in $p: batch 8 $(att "$T/cb8$p") GFLOP/s, batch 1 $(att "$T/cb1$p") GFLOP/s"
done
row() { printf '%-56s %9.3f %9.2f %8s\n' "$1" "$(echo "$2 / $3" | bc -l)" "$(echo "$3 / $2" | bc -l)" "$4"; }
printf '%-56s %9s %9s %8s\n' "" "images/s" "s/image" "peak MB"
for p in $precs; do
	eval "c8=\$c8$p w8=\$w8$p c1=\$c1$p w1=\$w1$p rss8=\$rss8$p rss1=\$rss1$p"
	row "cords-infer $p batch 8, cold (spontaneous phase run)" 8 "$c8" "$rss8"
	row "cords-infer $p batch 8, warm (spontaneous state cached)" 8 "$w8" "-"
	row "cords-infer $p batch 1, cold" 1 "$c1" "$rss1"
	row "cords-infer $p batch 1, warm" 1 "$w1" "-"
done
if [ "${TORCH:-1}" != 0 ]; then
	for py in "$BENCH_VENV/bin/python" /usr/bin/python3; do
		v=$("$py" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null) || { echo "no torch in $py"; continue; }
		name="torch $v ($([ "$py" = /usr/bin/python3 ] && echo Debian || echo PyPI))"
		/usr/bin/time -v "$py" "$top/bench/infer/torch_ref.py" "$T/r8.tzst" "$T/b8.tzst" "$S" "$S" "$THREADS" "$T/t8.npy" </dev/null >"$T/t8" 2>"$T/time"
		t8=$(awk '{print $2}' "$T/t8"); trss8=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$T/time")
		/usr/bin/time -v "$py" "$top/bench/infer/torch_ref.py" "$T/r8.tzst" "$T/one.tzst" "$S" "$S" "$THREADS" "$T/t1.npy" </dev/null >"$T/t1" 2>"$T/time"
		t1=$(awk '{print $2}' "$T/t1"); trss1=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$T/time")
		row "PyTorch literal batch 8, $name" 8 "$t8" "$trss8"
		row "PyTorch literal batch 1, $name" 1 "$t1" "$trss1"
		for p in $precs; do
			eval "c8=\$c8$p w8=\$w8$p c1=\$c1$p w1=\$w1$p"
			printf 'cords %s per image over %s: batch 8 %.2fx cold, %.2fx warm; batch 1 %.2fx cold, %.2fx warm\n' "$p" "$name" \
				"$(echo "$t8 / $c8" | bc -l)" "$(echo "$t8 / $w8" | bc -l)" "$(echo "$t1 / $c1" | bc -l)" "$(echo "$t1 / $w1" | bc -l)"
		done
		$PY - "$T" "$name" $precs <<PY
import sys; sys.path.insert(0, "$top/testdata/model")
import numpy as np, cstream
t, name = sys.argv[1:3]
for p in sys.argv[3:]:
    for b in ("8", "1"):
        ours = np.concatenate([v for n, v in cstream.read(t + "/c%s%s.tzst" % (b, p)) if n == "logits"])
        ref = np.load(t + "/t%s.npy" % b)
        err = np.abs(ours - ref) / (1e-5 + 1e-4 * np.abs(ref))
        big = (np.abs(ours - ref).max(1) / np.abs(ref).max(1)).max()
        print("%s batch %s: logits within %.3g x tolerance (1e-4 rel, 1e-5 abs) of %s, %.2g of the largest logit"
              % (p, b, err.max(), name, big))
PY
	done
fi
for p in $precs; do
	eval "step8=\$step8$p step1=\$step1$p"
	att8=$(att "$T/cb8$p") att1=$(att "$T/cb1$p") gf8=$(gflop "$T/cb8$p") gf1=$(gflop "$T/cb1$p")
	printf '%s stimulus step: batch 8 %.1f ms = %.1f GFLOP/s = %.0f%% of oneDNN alone; batch 1 %.1f ms = %.1f GFLOP/s = %.0f%%\n' "$p" \
		"$(echo "$step8 * 1000" | bc -l)" "$(echo "$gf8 / $step8" | bc -l)" "$(echo "100 * $gf8 / $step8 / $att8" | bc -l)" \
		"$(echo "$step1 * 1000" | bc -l)" "$(echo "$gf1 / $step1" | bc -l)" "$(echo "100 * $gf1 / $step1 / $att1" | bc -l)"
done
