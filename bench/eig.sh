#!/bin/sh
# bench/eig: eigenvalues of CordsNet-R8@224's largest recurrent operator,
# area_conv_0 (64 x 56 x 56 = 200,704 unknowns; random init, cords-init
# --seed 1), THREADS threads (2):
#  1. the default cords-eig --area 0 (300 Arnoldi steps) against CordsNet's
#     own algorithm (bench/eig_torch.py original: 300 steps in f32, one
#     modified Gram-Schmidt sweep each, then 5000 unshifted QR iterations) on
#     each PyTorch (bench/torch.sh: PyPI's, Debian's), both from the random
#     starts SEEDS. Accuracy against a converged reference (cords-eig
#     --converge -k 12 --tol 1e-9): for each of its top 10 eigenvalues the
#     relative distance to the nearest Ritz value (median, largest), and the
#     spectral radius's relative error. Seconds: cords's whole process (model
#     loading included), the original's algorithm alone.
#  2. cords-eig --converge -k 6 (tol 1e-6 on the residual) against scipy's
#     ARPACK (eigs, k 6, tol 1e-6, its default basis of 20) with the product by
#     torch's conv2d in double, on each PyTorch; and which of cords's six
#     ARPACK found.
# Self-contained, from anywhere (about 20 minutes on a quiet 2-core machine):
#   bash bench/eig.sh
# builds the tools (make), makes the PyPI torch venv if missing (make
# bench-deps), and writes the report to OUT (default
# bench/results/eig-cpu.md) as well as to stdout.
# Environment: SEEDS ("1 2 3"), THREADS (2), ARPACK=0 skips part 2's anchors,
# BENCH_VENV and TORCHES (bench/torch.sh); for a quick trial of the script,
# INIT (cords-init's options for the model, default "--dataset imagenet") and
# ORIGINAL (the original's steps and QR iterations, default "300 5000").
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$top/bench/results/eig-cpu.md}
make -s -C "$top" -j2 >&2
[ -n "${TORCHES:-}" ] || make -s -C "$top" bench-deps >&2
. "$top/bench/torch.sh"
BIN=${BIN:-$top/bin}
SEEDS=${SEEDS:-1 2 3}
THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000} # as the other benches: idle threads sleep soon
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3 # numpy for the comparisons
"$PY" -c 'import numpy' 2>/dev/null || PY=$BENCH_VENV/bin/python
exec 3>&1 >"$T/report.md" # the report, copied to OUT and stdout at the end
started=$(date -u '+%Y-%m-%d %H:%M UTC')
t_start=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)

echo "# bench/eig.sh: cords-eig against CordsNet's algorithm and scipy's ARPACK on PyTorch"
echo
echo "command: \`bash bench/eig.sh\`${SEEDS:+ (SEEDS=\"$SEEDS\")} ${ARPACK:+ARPACK=$ARPACK }${INIT:+INIT=\"$INIT\" }${ORIGINAL:+ORIGINAL=\"$ORIGINAL\"}  "
echo "started $started; $(machine)  "
echo "commit: $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown); threads: $THREADS; seeds: $SEEDS"
"$BIN/cords-init" -q ${INIT:---dataset imagenet} --seed 1 -o "$T/r8.tzst"

# wall seconds of a command (stdout to /dev/null, stderr kept in $T/err, peak RSS in MB in $T/rss)
wall() {
	/usr/bin/time -f '%e %M' -o "$T/time" "$@" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; exit 1; }
	awk '{ printf "%.0f\n", $2 / 1024 > "'"$T/rss"'"; print $1 }' "$T/time"
}
# accuracy of Ritz value files against the reference: "median max radius" (relative)
acc() {
	"$PY" - "$T/ref.tsv" "$@" <<'PY'
import sys, numpy as np
load = lambda p: (lambda a: a[:, 0] + 1j * a[:, 1])(np.loadtxt(p, ndmin=2))
ref = load(sys.argv[1])[:10]
for p in sys.argv[2:]:
    v = load(p)
    e = np.array([np.min(np.abs(v - r)) / abs(r) for r in ref])
    print("%.2e %.2e %.2e" % (np.median(e), e.max(), abs(np.abs(v).max() - abs(ref[0])) / abs(ref[0])))
PY
}
med() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

ref_s=$(wall "$BIN/cords-eig" -m "$T/r8.tzst" -a 0 --converge -k 12 --tol 1e-9 --tsv -o "$T/ref.tsv")
echo
echo "reference: \`cords-eig --area 0 --converge -k 12 --tol 1e-9\`, $ref_s s: $(grep -o '[0-9]* of the top 12 converged.*products' "$T/err");"
echo "spectral radius $(head -n 1 "$T/ref.tsv" | awk -F'\t' '{ printf "%.9f", sqrt($1 * $1 + $2 * $2) }')"

echo
echo "## 1. 300 Arnoldi steps (the default) against the original algorithm"
echo
echo "Seconds (cords: the whole process; the original: its algorithm, model loading excluded) and the"
echo "relative errors of the Ritz values against the reference (top 10: distance to the nearest Ritz"
echo "value, median and largest; the spectral radius), each the median over seeds $SEEDS."
echo
echo "| run | seconds | top10 median | top10 max | radius | per seed: seconds |"
echo "|---|---:|---:|---:|---:|---|"
secs=""
files=""
for s in $SEEDS; do
	secs="$secs $(wall "$BIN/cords-eig" -m "$T/r8.tzst" -a 0 --tsv --top 300 --seed "$s" -o "$T/c$s.tsv")"
	files="$files $T/c$s.tsv"
	cs=$(grep -o '[0-9.]* s operator, [0-9.]* s orthogonalisation' "$T/err")
	cp "$T/rss" "$T/rss300"
done
row() { # label, seconds..., then files
	rl=$1 ss=$2; shift 2
	acc "$@" > "$T/acc"
	printf '| %s | %.2f | %.2e | %.2e | %.2e | %s |\n' "$rl" "$(echo $ss | med)" \
		"$(awk '{ print $1 }' "$T/acc" | med)" "$(awk '{ print $2 }' "$T/acc" | med)" "$(awk '{ print $3 }' "$T/acc" | med)" "$ss"
}
row "\`cords-eig --area 0\` (the default)" "$secs" $files
c300=$(echo $secs | med)
secs="" files=""
for s in $SEEDS; do
	secs="$secs $(wall "$BIN/cords-eig" -m "$T/r8.tzst" -a 0 -k 450 --top 450 --tsv --seed "$s" -o "$T/d$s.tsv")"
	files="$files $T/d$s.tsv"
done
row "\`cords-eig --area 0 -k 450\`" "$secs" $files
torches > "$T/torches"
while read -r label py; do
	secs="" files=""
	for s in $SEEDS; do
		SEED=$s "$py" "$top/bench/eig_torch.py" original "$T/r8.tzst" 0 "$T/o-$label-$s.tsv" ${ORIGINAL:-300 5000} \
			</dev/null > "$T/o.out"
		secs="$secs $(awk '{ print $2 }' "$T/o.out")"
		files="$files $T/o-$label-$s.tsv"
	done
	row "original, $(torch_name "$label" "$py")" "$secs" $files
	echo "$label $(echo $secs | med)" >> "$T/orig"
done < "$T/torches"
echo
echo "cords's split (last seed): $cs; peak RSS $(cat "$T/rss300") MB.  "
while read -r label o; do
	printf 'speed-up of the default over the original on %s torch: **%.1fx**  \n' "$label" "$(echo "$o / $c300" | bc -l)"
done < "$T/orig" 2>/dev/null || true

echo
echo "## 2. the top 6 converged to 1e-6 against scipy's ARPACK"
echo
echo "| run | seconds | products | result |"
echo "|---|---:|---:|---|"
kc=$(wall "$BIN/cords-eig" -m "$T/r8.tzst" -a 0 --converge -k 6 --tsv -o "$T/kc.tsv")
printf '| `cords-eig --area 0 --converge -k 6` | %.2f | %s | %s; peak RSS %s MB |\n' "$kc" \
	"$(grep -o '[0-9]* products on' "$T/err" | cut -d' ' -f1)" \
	"$(grep -o '[0-9]* of the top 6 converged[^;]*basis' "$T/err")" "$(cat "$T/rss")"
if [ "${ARPACK:-1}" != 0 ]; then
	while read -r label py; do
		if ! "$py" -c 'import scipy' 2>/dev/null; then
			echo "| scipy ARPACK, $(torch_name "$label" "$py") | | | no scipy there |"
			continue
		fi
		"$py" "$top/bench/eig_torch.py" arpack "$T/r8.tzst" 0 "$T/a-$label.tsv" </dev/null > "$T/a.out"
		read -r _ as _ mv _ < "$T/a.out"
		found=$("$PY" - "$T/kc.tsv" "$T/a-$label.tsv" <<'PY'
import sys, numpy as np
load = lambda p: (lambda a: a[:, 0] + 1j * a[:, 1])(np.loadtxt(p, ndmin=2))
ours, theirs = load(sys.argv[1]), load(sys.argv[2])
hit = [np.min(np.abs(theirs - x)) <= 1e-5 * abs(x) for x in ours]
miss = [x for x, h in zip(ours, hit) if not h]
print("has %d of cords's 6%s" % (sum(hit), "; misses " + ", ".join("%.6f%+.6fi (mod %.6f)" % (x.real, x.imag, abs(x)) for x in miss if x.imag >= 0) if miss else ""))
PY
)
		printf '| scipy ARPACK (ncv 20), %s | %.2f | %s | %s; **cords %.1fx faster** |\n' "$(torch_name "$label" "$py")" "$as" "$mv" "$found" \
			"$(echo "$as / $kc" | bc -l)"
	done < "$T/torches"
fi
echo
load1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average: $load0 at the start, $load1 at the end; $(( $(date +%s) - t_start )) s in all.  "
awk -v a="${load0%% *}" -v b="${load1%% *}" -v c="$(nproc)" 'BEGIN { if (a > c / 2 || b > c / 2)
	print "**UNDER LOAD**: other work shared the CPUs, so every figure above is slower than on a quiet machine and the ratios are uncertain." }'
exec 1>&3
mkdir -p "$(dirname "$OUT")"
cp "$T/report.md" "$OUT.tmp" && mv "$OUT.tmp" "$OUT"
cat "$OUT"
echo "bench/eig: wrote $OUT" >&2
