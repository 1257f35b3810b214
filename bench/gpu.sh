#!/bin/bash
# The GPU checks of issue 7 in one run, under 8 minutes, ending with one table:
#   1. the CUDA unit tests (every backend op against the CPU's, whole models);
#   2. inference, CordsNet-R8 at 224x224, batch 64, 100 + 100 steps, random
#      weights and input: images/s of our CUDA backend (fp32, and tf32) against
#      the literal PyTorch model (testdata/model/cordsnet.py) on the same GPU,
#      with cuDNN TF32 off (fp32) and on (PyTorch's default), and how far the
#      logits agree; bf16 (and how far its logits are from fp32's); and fp32
#      with the areas on one stream (CORDS_LANES=0), and without CUDA graphs
#      (CORDS_GRAPHS=0);
#   3. a stage-5 training step (anneal), batch 8, once the graphs replay:
#      cords-anneal --device cuda (when the build has it) against the literal PyTorch model with autograd,
#      and with the areas on one stream (CORDS_LANES=0) against in lanes,
#      in tf32 (also against torch's TF32 default) and bf16, without CUDA graphs (and the models compared), and with
#      cuDNN's non-deterministic backward algorithms allowed;
#      and one step at batch 16 with the device's peak memory in use; one
#      step with its gradients summed by NCCL over one rank (CORDS_NCCL=1)
#      against the step without; and 2 steps with every backend call timed
#      (CORDS_PROFILE), printed before the table; and a stage-1 step
#      (cords-cnn, batch 16) profiled, with the host's part of it;
#   4. cords-eig on R8's first area, 300 Arnoldi steps and --converge -k 6,
#      GPU against CPU.
# Exits 1 when the GPU unit tests fail or skip on a GPU machine (or the build
# fails), else 0.
# Usage, from anywhere:
#   bench/gpu.sh                        builds with CUDA=1 here, then runs
#   CORDS_PREBUILT=DIR bench/gpu.sh     runs binaries built elsewhere:
#       DIR (or the DIR.tar.xz / .tar.zst bench/gpu-pack.sh makes; .tar.xz
#       needs only python, .tar.zst the zstd command or module) holds bin/, build/test/,
#       build/bench/ and lib/ (shared libraries they need)
# Environment: PYTHON (default: the python of TORCH_VENV, else of BENCH_VENV, the venv
#   `make bench-deps` makes with PyPI's torch, else of /opt/torch/.venv, else python3),
#   BATCH (64), BATCHES (timed batches, 2), STEPS (100: spont = stim = STEPS),
#   DEVICE (cuda; cpu makes a dry run of the script where there is no GPU),
#   LIMIT (450: seconds for the timed phases; every phase is cut to what is
#   left). Unpacking and start-up come on top: allow about 560 s in all.
# On a borrowed GPU machine: `sh bench/gpu-pack.sh .gpu/prebuilt.tar.xz` here
# (.gpu/ is not ignored, so it travels with the tree), then there
# `CORDS_PREBUILT=.gpu/prebuilt.tar.xz bash bench/gpu.sh`; a dry run here:
# `DEVICE=cpu BATCH=2 BATCHES=1 STEPS=5 PYTHON=/usr/bin/python3 CORDS_PREBUILT=... bash bench/gpu.sh`.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
start=$(date +%s)
work=$(mktemp -d /tmp/cords-gpu.XXXXXX)
table=$work/table
BATCH=${BATCH:-64} BATCHES=${BATCHES:-2} STEPS=${STEPS:-100} DEVICE=${DEVICE:-cuda}
# The table, also when a phase ends the run early.
finish() {
	row "total seconds" "$(($(date +%s) - start))"
	if [ -s "$work/profile" ]; then
		echo
		echo "== where a cords training step's time goes (CORDS_PROFILE, 2 steps, every call synchronised)"
		cat "$work/profile"
	fi
	echo
	echo "== cords GPU benchmark (R8 224x224, batch $BATCH, $STEPS + $STEPS steps, $BATCHES timed batches)"
	cat "$table"
	rm -rf "$work"
}
trap finish EXIT
LIMIT=${LIMIT:-450} # seconds for the whole run: each phase gets at most what is left
tmo() { l=$((LIMIT - ($(date +%s) - start))); [ "$l" -gt "$1" ] && l=$1; [ "$l" -lt 1 ] && l=1; echo "$l"; }
row() { printf '%-64s %s\n' "$1" "$2" >>"$table"; }
say() { echo "gpu.sh [$(($(date +%s) - start))s] $*" >&2; }
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" "$2" | tail -n 1; } # key, file
# key, file: the value, or why there is none (the output's last line).
value() { v=$(field "$1" "$2"); l=$(tail -n 1 "$2" | cut -c1-120); echo "${v:-failed: ${l:-no output (out of time?)}}"; }

# The torch venv: its python, and its nvidia/*/lib folders (cuDNN, cuBLAS, runtime, NCCL).
venv=${TORCH_VENV:-${BENCH_VENV:-/work/venv-torch}}
[ -x "$venv/bin/python" ] || venv=/opt/torch/.venv
PYTHON=${PYTHON:-$( [ -x "$venv/bin/python" ] && echo "$venv/bin/python" || command -v python3)}
nvlibs=$(find "$venv" -path '*nvidia*' \( -name 'libcudnn.so*' -o -name 'libcublas.so*' -o -name 'libcudart.so*' \
	-o -name 'libcublasLt.so*' -o -name 'libnvrtc.so*' -o -name 'libnvJitLink.so*' -o -name 'libnccl.so*' \) \
	-printf '%h\n' 2>/dev/null |
	sort -u | paste -sd:)

ld0=${LD_LIBRARY_PATH:-} # for python: torch brings its own libraries

unpack() { # FILE.tar.zst (or .tar.xz, .tar.gz) -> $work/prebuilt
	mkdir -p "$work/prebuilt"
	case $1 in *.tar.zst) ;; *)
		"$PYTHON" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$work/prebuilt"
		return ;;
	esac
	if command -v zstd >/dev/null; then
		zstd -dc "$1" | tar -C "$work/prebuilt" -xf -
	else
		"$PYTHON" - "$1" "$work/prebuilt" <<'PY'
import io, sys, tarfile
try:
    from compression import zstd as z          # Python 3.14
    data = z.decompress(open(sys.argv[1], "rb").read())
except ImportError:
    import zstandard                           # the pip package
    data = zstandard.ZstdDecompressor().stream_reader(open(sys.argv[1], "rb")).read()
tarfile.open(fileobj=io.BytesIO(data)).extractall(sys.argv[2])
PY
	fi
}

if [ -n "${CORDS_PREBUILT:-}" ]; then
	pre=$CORDS_PREBUILT
	case $pre in *.tar.*) say "unpacking $pre"; unpack "$pre" || { echo "gpu.sh: cannot unpack $pre" >&2; exit 1; }
		pre=$work/prebuilt ;; esac
	BIN=$pre/bin BUILD=$pre/build
	export LD_LIBRARY_PATH="$pre/lib${nvlibs:+:$nvlibs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	build="prebuilt ($(cat "$pre/COMMIT" 2>/dev/null || echo "$CORDS_PREBUILT"))"
else
	BIN=$top/bin BUILD=$top/build
	export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$nvlibs"
	units=$(for f in test/unit/*.c; do n=${f#test/unit/}; echo "build/test/${n%.c}"; done)
	say "building with CUDA=1"
	if ! timeout -k 10 "$(tmo 300)" make -j"$(nproc)" CUDA=1 all bench $units >"$work/build.log" 2>&1; then
		tail -n 30 "$work/build.log" >&2
		echo "gpu.sh: the CUDA build failed" >&2
		exit 1
	fi
	build="built here ($(git rev-parse --short HEAD 2>/dev/null))"
fi
export TESTDATA=$top/testdata
# A library the loader cannot find fails every binary with 127: name it.
miss=$(ldd "$BUILD/test/backend_cuda" "$BUILD/bench/gpu_infer" "$BIN/cords-infer" 2>&1 | awk '/not found/ { print $1 }' |
	sort -u | paste -sd' ')
[ -n "$miss" ] && row "missing libraries" "$miss"

device=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
row "device" "${device:-unknown (no nvidia-smi)}"
row "build" "$build"
row "torch" "$(LD_LIBRARY_PATH=$ld0 timeout -k 10 "$(tmo 60)" "$PYTHON" -c 'import torch; print(torch.__version__, "cuDNN", torch.backends.cudnn.version())' 2>&1 | tail -n 1)"

# 1. Unit tests on the GPU.
say "unit tests"
timeout -k 10 "$(tmo 120)" "$BUILD/test/backend_cuda" >"$work/unit.out" 2>"$work/unit.err"
rc=$?
status=$((rc != 0)) # the script's exit status: did the GPU tests pass
cat "$work/unit.out" "$work/unit.err" >&2
row "unit tests: backend_cuda (exit $rc)" "$(grep -c '^PASS' "$work/unit.out") passed, $(grep -c '^FAIL' "$work/unit.out") failed, $(grep -c '^SKIP' "$work/unit.out") skipped $(grep -m1 -o '^SKIP: .*' "$work/unit.out" | sed 's/.*: //')"
# On a GPU machine, tests that skip (no usable device) are a failure too.
[ "$DEVICE" = cpu ] || grep -q '^PASS' "$work/unit.out" || status=1
timeout -k 10 "$(tmo 60)" "$BUILD/test/model" >"$work/model.out" 2>&1
row "unit tests: model (CPU, exit $?)" "$(grep -c '^PASS' "$work/model.out") passed, $(grep -c '^FAIL' "$work/model.out") failed"

# 2. Inference, R8 at 224.
d=$work/r8
cords() { # label, precision[, CORDS_LANES[, CORDS_GRAPHS]]
	say "cords $1"
	CORDS_LANES=${3:-1} CORDS_GRAPHS=${4:-1} CORDS_PRECISION=$2 timeout -k 10 "$(tmo 150)" "$BUILD/bench/gpu_infer" "$DEVICE" "$d" "$BATCH" "$BATCHES" "$STEPS" "$STEPS" 8 224 \
		>"$work/$1.out" 2>&1
	cat "$work/$1.out" >&2
	[ -f "$d/logits-$DEVICE.f32" ] && mv "$d/logits-$DEVICE.f32" "$d/logits-$2.f32"
	row "cords CUDA $1: images/s" "$(value images_per_s "$work/$1.out")"
}
torch() { # label, flags, logits to compare
	say "torch $1"
	LD_LIBRARY_PATH=$ld0 timeout -k 10 "$(tmo 150)" "$PYTHON" bench/gpu_torch.py "$d" --batches "$BATCHES" --spont "$STEPS" --stim "$STEPS" $2 \
		--compare "$3" >"$work/$1.out" 2>&1
	cat "$work/$1.out" >&2
	row "PyTorch literal, $1: images/s" "$(value images_per_s "$work/$1.out")"
	row "  logits vs cords: max rel err, argmax agree" \
		"$(field max_rel_err "$work/$1.out") $(field argmax_agree "$work/$1.out")"
}
cords fp32 fp32
cords tf32 tf32
cords bf16 bf16
torch "cuDNN fp32" "" logits-fp32.f32
torch "TF32 (torch default)" "--tf32" logits-tf32.f32
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
f=$(grep -h 'images_per_s' "$work/fp32.out" | tail -n 1 | sed 's/.*images_per_s=//')
t=$(grep -h 'images_per_s' "$work/tf32.out" | tail -n 1 | sed 's/.*images_per_s=//')
pf=$(field images_per_s "$work/cuDNN fp32.out")
pt=$(field images_per_s "$work/TF32 (torch default).out")
row "ratio cords fp32 / torch fp32" "$(ratio "$f" "$pf")"
row "ratio cords tf32 / torch default (tf32)" "$(ratio "$t" "$pt")"
row "ratio cords fp32 / torch default (tf32)" "$(ratio "$f" "$pt")"
# bf16: how far its logits are from fp32's (both cords), and its speed.
if [ -f "$d/logits-bf16.f32" ] && [ -f "$d/logits-fp32.f32" ]; then
	row "  bf16 logits vs fp32: max |diff| / max |logit|, argmax agree" "$(LD_LIBRARY_PATH=$ld0 "$PYTHON" - \
		"$d/logits-bf16.f32" "$d/logits-fp32.f32" "$BATCH" <<'PY' 2>&1 | tail -n 1
import sys, numpy as np
a, b = (np.fromfile(f, np.float32).reshape(int(sys.argv[3]), -1) for f in sys.argv[1:3])
print("%.3g %.3f" % (np.abs(a - b).max() / np.abs(b).max(), (a.argmax(1) == b.argmax(1)).mean()))
PY
)"
	b16=$(field images_per_s "$work/bf16.out")
	row "ratio cords bf16 / torch default (tf32)" "$(ratio "$b16" "$pt")"
fi
# The areas of a step in lanes (streams) of their own, against one stream.
cords "fp32, one stream (CORDS_LANES=0)" fp32 0
o=$(field images_per_s "$work/fp32, one stream (CORDS_LANES=0).out")
row "  lanes' gain: fp32 / fp32 one stream" "$(ratio "$f" "$o")"
cords "fp32, no CUDA graphs (CORDS_GRAPHS=0)" fp32 1 0
o=$(field images_per_s "$work/fp32, no CUDA graphs (CORDS_GRAPHS=0).out")
row "  graphs' gain: fp32 / fp32 no graphs" "$(ratio "$f" "$o")"
off=$(grep -h 'CUDA graphs off' "$work"/*.out "$work/unit.err" 2>/dev/null | head -n 1 | cut -c1-120)
[ -n "$off" ] && row "  CUDA graphs" "$off"

# cords-infer itself, when this build has it: the same model and batches
# (gpu_infer wrote them), wall time from start to exit.
if [ -x "$BIN/cords-infer" ]; then
	say "cords-infer --device cuda"
	t0=$(date +%s.%N)
	if timeout -k 10 "$(tmo 150)" "$BIN/cords-infer" -m "$d/model.tzst" --device "$DEVICE" --spont "$STEPS" --stim "$STEPS" \
		<"$d/x.tzst" >"$work/infer.tzst" 2>"$work/infer.err"; then
		row "cords-infer --device cuda: images/s (wall, with start-up)" \
			"$(awk -v t0="$t0" -v t1="$(date +%s.%N)" -v n="$((BATCH * BATCHES))" 'BEGIN { printf "%.2f", n / (t1 - t0) }')"
	else
		row "cords-infer --device cuda" "failed: $(tail -n 1 "$work/infer.err")"
	fi
else
	row "cords-infer --device cuda" "not in this build"
fi

# 3. Training: one stage-5 step (anneal: PReLU 0.95, spontaneous phase, 100
# stimulus steps with 30 read-outs, 100 blank steps with the spont penalty,
# AdamW) at batch 8. cords: the mean of steps 4 and 5 of a 5-step run by its
# log (graphs replayed), and the wall time of --steps 5 less that of --steps 1,
# quartered; torch: the literal model with autograd, after a warm-up step.
tool=
for t in anneal finetune; do
	if [ -x "$BIN/cords-$t" ] && "$BIN/cords-$t" --help 2>&1 | grep -q -- '--device'; then tool=cords-$t; break; fi
done
# the protocol the torch step uses (at STEPS=100: the paper's, and cords-anneal's defaults)
proto="--spont-steps $STEPS --stim-steps $STEPS --blank-steps $STEPS --readouts $((STEPS < 30 ? STEPS : 30))"
models_differ() { # two models -> their largest relative difference, per tensor, as "max rel diff X"
	"$BIN/cords-cat" --npz "$work/a.npz" "$1" && "$BIN/cords-cat" --npz "$work/b.npz" "$2" &&
		LD_LIBRARY_PATH=$ld0 "$PYTHON" - "$work/a.npz" "$work/b.npz" <<'PY' 2>&1 | tail -n 1
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
w = max((np.abs(a[k].astype(np.float64) - b[k]).max(initial=0) / (np.abs(a[k]).max(initial=0) + 1e-12)
         for k in a.files if a[k].dtype.kind == 'f'), default=0)
print("max rel diff %.3g over %d tensors%s" % (w, len(a.files), "" if sorted(a.files) == sorted(b.files) else " (names differ)"))
PY
}
train_run() { # steps -> seconds (or nothing on failure); the run's log is $work/log<steps>.tsv
	t0=$(date +%s.%N)
	timeout -k 10 "$(tmo 240)" "$BIN/$tool" -m "$d/model.tzst" --device "$DEVICE" --epochs 1 --steps "$1" \
		$proto --log "$work/log$1.tsv" \
		--checkpoint "$work/ckpt.tzst" -o "$work/trained.tzst" "$d/train.tzst" >"$work/train$1.out" 2>&1 &&
		awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.3f", t1 - t0 }'
}
# One configuration (its switches in the environment): 1 step and 5 steps.
# A process's first step makes the convolution plans (cudnnFind) and grows
# the workspaces, which drops any graph; the graphs are captured at step 3
# and replayed from step 4 on, as in a long run. Sets last (steps 4 and 5 by
# the run's own log, images / img_s: the steady step, the figure compared),
# per (the wall time of steps 2 to 5, quartered: start-up and loading
# cancel, the capture counts) and wall; keeps the models as
# $work/trained1-TAG.tzst and trained5-TAG.tzst. (The log's images column
# counts up: a step's images are its difference.)
steps_of() { # tag
	per= last= wall=
	local a b
	a=$(train_run 1) && cp "$work/trained.tzst" "$work/trained1-$1.tzst" && b=$(train_run 5) &&
		cp "$work/trained.tzst" "$work/trained5-$1.tzst" || return 1
	per=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", (b - a) / 4 }')
	last=$(awk -F'\t' '$1 == "kind" { for (i = 1; i <= NF; i++) if ($i == "img_s") c = i }
		$1 == "train" && c { if ($4 >= 4) { s += ($5 - n) / $c; k++ } n = $5 } END { if (k) printf "%.3f", s / k }' "$work/log5.tsv")
	wall="1 step: ${a}s, 5 steps: ${b}s wall"
}
# A variant against the default: tag, label.
variant() {
	say "$tool --device cuda, $2"
	if steps_of "$1"; then
		row "  $2: s/step" "$last (steps 2-5 by wall ${per}s; the default's is $(ratio "$last" "${ct:-0}") as fast)"
	else
		row "  $2" "failed: $(tail -n 1 "$work/train5.out" | cut -c1-100)"
	fi
}
if [ -n "$tool" ] && [ -f "$d/train.tzst" ]; then
	say "$tool --device cuda"
	if steps_of default; then
		ct=$last ct_wall=$per
		row "$tool --device cuda, batch 8: s/step (steps 4-5, graphs replayed)" "$ct (steps 2-5 with the capture, by wall: ${per}s; $wall)"
	else
		row "$tool --device cuda, batch 8" "failed: $(tail -n 1 "$work"/train*.out | tail -n 1 | cut -c1-100)"
	fi
	CORDS_LANES=0 variant one "one stream (CORDS_LANES=0)"
	CORDS_GRAPHS=0 variant nographs "no CUDA graphs (CORDS_GRAPHS=0)"
	CORDS_PRECISION=tf32 variant tf32 "tf32 (CORDS_PRECISION=tf32)"
	ct_tf32=$last # against torch's default, which is TF32 too
	CORDS_PRECISION=bf16 variant bf16 "bf16 (CORDS_PRECISION=bf16)"
	CORDS_DETERMINISTIC=0 variant nondet "non-deterministic backward allowed (CORDS_DETERMINISTIC=0)"
	[ -f "$work/trained1-one.tzst" ] && [ -f "$work/trained1-default.tzst" ] &&
		row "  1 step: model in lanes vs on one stream" "$(models_differ "$work/trained1-default.tzst" "$work/trained1-one.tzst")"
	[ -f "$work/trained5-nographs.tzst" ] && [ -f "$work/trained5-default.tzst" ] &&
		row "  5 steps: model with graphs vs without" "$(models_differ "$work/trained5-default.tzst" "$work/trained5-nographs.tzst")"
	off=$(grep -h 'CUDA graphs off' "$work"/train*.out 2>/dev/null | head -n 1 | cut -c1-120)
	[ -n "$off" ] && row "  CUDA graphs in training" "$off"
	# The gradients summed by NCCL over a one-rank communicator (CORDS_NCCL=1):
	# the same step as without, within the rounding of cudnnFind's choices.
	say "$tool --device cuda, CORDS_NCCL=1"
	if CORDS_NCCL=1 timeout -k 10 "$(tmo 60)" "$BIN/$tool" -m "$d/model.tzst" --device "$DEVICE" --epochs 1 --steps 1 \
		$proto -o "$work/trained-nccl.tzst" "$d/train.tzst" >"$work/train-nccl.out" 2>&1; then
		row "NCCL (CORDS_NCCL=1, one rank): 1 step, model vs without" "$(models_differ "$work/trained1-default.tzst" "$work/trained-nccl.tzst")"
	else
		row "NCCL (CORDS_NCCL=1, one rank)" "failed: $(tail -n 1 "$work/train-nccl.out" | cut -c1-100)"
	fi
	# The same steps with every backend call timed (cords(7), CORDS_PROFILE): the
	# table's training row says how fast, this says where the time goes.
	say "$tool --device cuda under CORDS_PROFILE"
	CORDS_PROFILE=1 timeout -k 10 "$(tmo 120)" "$BIN/$tool" -m "$d/model.tzst" --device "$DEVICE" --epochs 1 \
		--steps 2 $proto -o "$work/trained-prof.tzst" "$d/train.tzst" 2>&1 | grep '^cords-profile' >"$work/profile"
else
	row "training step, stage 5, batch 8 (cords)" "not measured: no training tool with --device cuda in this build"
fi
for mode in "fp32:" "TF32 (torch default):--tf32"; do
	label=${mode%%:*} flags=${mode#*:}
	say "torch training step, $label"
	LD_LIBRARY_PATH=$ld0 timeout -k 10 "$(tmo 200)" "$PYTHON" bench/gpu_torch.py "$d" --train 8 --batches 2 --spont "$STEPS" \
		--stim "$STEPS" $flags >"$work/train-$label.out" 2>&1
	cat "$work/train-$label.out" >&2
	row "PyTorch literal training step, batch 8, $label: s/step" \
		"$(value seconds_per_step "$work/train-$label.out") (peak $(field peak_gib "$work/train-$label.out") GiB)"
	tt=$(field seconds_per_step "$work/train-$label.out")
	[ -n "${ct:-}" ] && row "  ratio torch $label / cords (steady; by wall, steps 2-5)" "$(ratio "$tt" "$ct"); $(ratio "$tt" "$ct_wall")"
	[ -n "${ct_tf32:-}" ] && [ -n "$flags" ] && row "  ratio torch $label / cords tf32" "$(ratio "$tt" "$ct_tf32")"
done
# Issue 7's memory target: R8 at 224 trains with batch 16 within 80 GB. One
# step at batch 16 while nvidia-smi samples the memory in use on the device.
if [ -n "$tool" ] && [ -f "$d/train16.tzst" ] && command -v nvidia-smi >/dev/null; then
	say "$tool --device cuda, batch 16: peak memory"
	timeout -k 10 "$(tmo 120)" "$BIN/$tool" -m "$d/model.tzst" --device "$DEVICE" --epochs 1 --steps 1 \
		$proto \
		-o "$work/trained16.tzst" "$d/train16.tzst" >"$work/train16.out" 2>&1 &
	pid=$! peak=0
	while kill -0 "$pid" 2>/dev/null; do
		u=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | head -n 1 | tr -d ' ')
		case $u in '' | *[!0-9]*) ;; *) [ "$u" -gt "$peak" ] && peak=$u ;; esac
		sleep 0.2
	done
	if wait "$pid"; then
		row "$tool --device cuda, batch 16: peak memory in use" "$peak MiB (nvidia-smi every 0.2 s, whole device)"
	else
		row "$tool --device cuda, batch 16" "failed: $(tail -n 1 "$work/train16.out" | cut -c1-100)"
	fi
fi
# Stage 1 (cords-cnn: the BN CNN, SGD) at batch 16 under CORDS_PROFILE, 1
# and 4 steps: a step's time (every call synchronised), and the host's part of
# it (the batch read, the norm's sum and the losses coming down). Weight norm,
# clipping, the optimiser, the read-out and the loss run on the device; this
# row says what the host still costs where a step is short.
if [ -x "$BIN/cords-cnn" ] && [ -f "$d/train16.tzst" ]; then
	say "cords-cnn --device cuda, batch 16, under CORDS_PROFILE"
	for n in 1 4; do
		CORDS_PROFILE=1 timeout -k 10 "$(tmo 90)" "$BIN/cords-cnn" -m "$d/model.tzst" --device "$DEVICE" --steps $n \
			--warmup 0 -o "$work/cnn.tzst" "$d/train16.tzst" >/dev/null 2>"$work/cnn$n.err"
	done
	prof() { sed -n "s/.*wall \([0-9.]*\) s:.*outside it \([0-9.]*\) s.*/\1 \2/p" "$1" | tail -n 1; } # -> wall host
	a=$(prof "$work/cnn1.err") b=$(prof "$work/cnn4.err")
	if [ -n "$a" ] && [ -n "$b" ]; then
		row "cords-cnn --device cuda, batch 16 (profiled): s/step, host's part" \
			"$(echo "$a $b" | awk '{ w = ($3 - $1) / 3; h = ($4 - $2) / 3; printf "%.3f, host %.3f (%.0f%%)", w, h, (w > 0 ? 100 * h / w : 0) }')"
	else
		row "cords-cnn --device cuda, batch 16" "failed: $(tail -n 1 "$work/cnn4.err" | cut -c1-100)"
	fi
fi
# 4. cords-eig on R8's first area (64 x 56 x 56 = 200,704 unknowns): 300
# Arnoldi steps (the default), and the top 6 converged (--converge); the basis
# and the operator on the GPU, against the CPU.
if [ -f "$d/model.tzst" ]; then
	for mode in "300" "converge"; do
		opt=$([ "$mode" = converge ] && echo "--converge -k 6" || echo "--top 10")
		for dev in "$DEVICE" cpu; do
			say "cords-eig $opt --device $dev"
			t0=$(date +%s.%N)
			if timeout -k 10 "$(tmo 120)" "$BIN/cords-eig" -m "$d/model.tzst" -a 0 $opt --tsv --device "$dev" \
				-o "$work/eig-$mode-$dev.tsv" 2>"$work/eig-$dev.err"; then
				row "cords-eig R8 area 0, $opt, --device $dev: s (wall)" \
					"$(awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.2f", t1 - t0 }') ($(grep -o '[0-9.]* s operator, [0-9.]* s orthogonalisation' "$work/eig-$dev.err"))"
			else
				row "cords-eig $opt --device $dev" "failed: $(tail -n 1 "$work/eig-$dev.err" | cut -c1-100)"
			fi
		done
		[ -s "$work/eig-$mode-$DEVICE.tsv" ] && [ -s "$work/eig-$mode-cpu.tsv" ] && row "  $opt: max |gpu - cpu| of the eigenvalues" \
			"$(paste "$work/eig-$mode-$DEVICE.tsv" "$work/eig-$mode-cpu.tsv" | awk -F'\t' '{ d = sqrt(($1 - $3) ^ 2 + ($2 - $4) ^ 2); if (d > m) m = d } END { printf "%.3g", m }')"
	done
fi
exit "$status"
