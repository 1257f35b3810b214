#!/bin/sh
# cords-infer --precision bf16 against fp32 on the CPU: the same models and
# images through both, the class (argmax) each gives and how far bf16's
# logits are from fp32's, in units of the image's largest fp32 logit. Two sets:
#   the demo's RNNs (`make demo`: inverse, linear, anneal, finetune; R4 at
#     28x28) on all 10,000 Fashion-MNIST test images, with their accuracy;
#   CordsNet-R8 at 224 (cords-init, random weights: no trained R8 here) on
#     64 photos, crops of the two photos Debian ships with scikit-learn
#     (china.jpg, flower.jpg: random squares of 96 px to full height, half of
#     them mirrored), through cords-unpack and cords-prep's test transform.
# The issue's bar: the same class on >= 99 % of the images of each set, every
# logit within 1e-2 of the image's largest. Exit 1 if a set misses it.
# Run from the top of the tree after make:
#   sh bench/infer/bf16.sh [DEMO]
# DEMO: a finished `make demo` folder (its *.tzst models and test.tzst); without
# it the demo is made in a temporary folder first (about 9 min on 2 quiet cores).
# Environment: THREADS (default 2); PHOTOS (default 64); R8_STEPS (default 100:
# 100 spontaneous + 100 stimulus steps); PARTS (default "demo r8": which sets).
# On 2 quiet cores about 4 min beyond the demo.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$top/bin
PY=/usr/bin/python3
export OMP_NUM_THREADS=${THREADS:-2}
# Idle OpenMP threads sleep soon (cords(7), ENVIRONMENT; PyTorch's libgomp reads it
# too): with the default spin a busy machine makes every side several times slower.
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
PHOTOS=${PHOTOS:-64}
PARTS=${PARTS:-demo r8}
S=${R8_STEPS:-100}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -x "$BIN/cords-infer" ] || { echo "run make first" >&2; exit 1; }
DEMO=
case " $PARTS " in
*" demo "*)
	if [ $# -ge 1 ]; then
		DEMO=$1
	else
		DEMO=$T/demo
		make -s -C "$top" demo OUT="$DEMO" >"$T/demo.log" 2>&1 || { tail "$T/demo.log" >&2; exit 1; }
	fi
	[ -s "$DEMO/test.tzst" ] || { echo "$DEMO: no test.tzst (a finished make demo folder?)" >&2; exit 1; }
	;;
esac

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs;" \
	"bf16 instructions: $(grep -o -w 'avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')" \
	"load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# wall seconds of a command
timed() {
	t0=$(date +%s.%N)
	"$@"
	wall=$(echo "$(date +%s.%N) - $t0" | bc -l)
}
# NAME MODEL INPUT [cords-infer options]: both precisions, then the comparison
pair() {
	name=$1 model=$2 in=$3
	shift 3
	timed "$BIN/cords-infer" -q -m "$model" "$@" "$in" -o "$T/f.tzst"; tf=$wall
	timed "$BIN/cords-infer" -q -m "$model" --precision bf16 "$@" "$in" -o "$T/b.tzst"; tb=$wall
	$PY - "$T/f.tzst" "$T/b.tzst" "$name" "$tf" "$tb" <<PY || bad=1
import sys; sys.path.insert(0, "$top/testdata/model")
import numpy as np, cstream
f, b, name, tf, tb = sys.argv[1:6]
def read(p):
    r = cstream.read(p)
    y = [v for n, v in r if n == "y"]
    return np.concatenate([v for n, v in r if n == "logits"]).astype(np.float64), np.concatenate(y) if y else None
(a, y), (c, _) = read(f), read(b)
assert a.shape == c.shape and np.isfinite(a).all() and np.isfinite(c).all(), "shapes differ or not finite"
rel = np.abs(a - c).max(1) / np.abs(a).max(1)
same = (a.argmax(1) == c.argmax(1)).mean()
acc = "" if y is None else "  accuracy fp32 %.2f %%, bf16 %.2f %%" % (100 * (a.argmax(1) == y).mean(), 100 * (c.argmax(1) == y).mean())
print("%-34s %6d images  same class %7.3f %%  logits off by max %.2e, median %.2e of the largest  fp32 %6.1f s, bf16 %6.1f s%s"
      % (name, len(a), 100 * same, rel.max(), np.median(rel), float(tf), float(tb), acc))
sys.exit(0 if same >= 0.99 and rel.max() <= 1e-2 else 1)
PY
}
bad=0

# The demo's RNNs (each with the protocol it records) on the 10,000 test images.
for m in inverse linear anneal finetune; do
	if [ -n "$DEMO" ] && [ -s "$DEMO/$m.tzst" ]; then pair "demo $m (R4, 28x28)" "$DEMO/$m.tzst" "$DEMO/test.tzst"; fi
done

# R8 at 224 on photos.
case " $PARTS " in *" r8 "*) ;; *) exit $bad ;; esac
mkdir "$T/photos"
$PY - "$T/photos" "$PHOTOS" <<'PY'
import sys
import numpy as np
from PIL import Image
out, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
ims = [Image.open("/usr/lib/python3/dist-packages/sklearn/datasets/images/%s.jpg" % p).convert("RGB")
       for p in ("china", "flower")]
for i in range(n):
    im = ims[i % 2]
    w, h = im.size
    s = int(rng.integers(96, min(w, h) + 1))
    x, y = int(rng.integers(0, w - s + 1)), int(rng.integers(0, h - s + 1))
    c = im.crop((x, y, x + s, y + s))
    if rng.random() < 0.5:
        c = c.transpose(Image.FLIP_LEFT_RIGHT)
    c.save("%s/p%03d.jpg" % (out, i), quality=92)
PY
"$BIN/cords-unpack" -q --dataset files -o "$T/ph.tzst" "$T/photos"
"$BIN/cords-prep" -q --split test --batch 8 -o "$T/pp.tzst" "$T/ph.tzst"
"$BIN/cords-init" -q --dataset imagenet --seed 1 -o "$T/r8.tzst"
pair "R8 at 224, $S + $S steps, photos" "$T/r8.tzst" "$T/pp.tzst" --spont "$S" --stim "$S"
exit $bad
