# The training chain and the analysis with --device cuda, run on the emulated CUDA (build/emu/bin,
# linked with test/cuda_emu/; cords-cuda(7), TESTING): the same answers as
# on the CPU, and gradients summed by NCCL across the ranks of an mpirun,
# the path a GPU cluster takes (here NCCL's sum is MPI's, on the host).
. "$(dirname "$0")/lib.sh"
E=$BUILD/emu/bin
D=$TESTDATA/train
B=$D/batches.tzst
P="--stim-steps 3 --readouts 2 --lr 1e-3 --clip 1 --epochs 1"
export OMP_NUM_THREADS=1
if ! have_python numpy; then
	skip "the tools on the emulated CUDA" "no numpy to compare models"
	exit 0
fi

# twin NAME TOL TOOL ARG...: cords-TOOL ARG... with --device cuda on the
# emulation, and on the CPU, each writing $T/NAME-{cuda,cpu}.tzst; the two
# equal within TOL.
twin() {
	name=$1 tol=$2 tool=$3; shift 3
	expect_exit 0 "cords-$tool --device cuda ($name)" "$E/cords-$tool" "$@" --device cuda -o "$T/$name-cuda.tzst"
	cords-$tool "$@" -o "$T/$name-cpu.tzst" 2>/dev/null
	check "  equals the CPU's (within $tol)" compare "$T/$name-cpu.tzst" "$T/$name-cuda.tzst" "$tol"
}
# Under the sanitizers (SANITIZE=1) an emulated run is ten times slower: a
# part of the runs below checks the tools' device code there (every launcher
# runs in unit/backend_cuda_emu too).
full=1
[ -n "${SANITIZE:-}" ] && full=
san() { [ -n "$full" ] || skip "$1" "ten times slower under the sanitizers; make check without SANITIZE runs it"; }
twin logits 1e-4 infer -m "$D/params.tzst" --spont 10 --stim 10 "$B"
# The experiments (cords(7) EXPERIMENTS) take the same path on every
# backend: state and frame noise drawn on the host, lesions in the weights.
twin state-noise 1e-4 infer -m "$D/params.tzst" --spont 4 --stim 6 --noise 0.5 --noise-mode state --every 1 "$B"
san "frame noise, lesions and reaction times on the emulated CUDA"
[ -n "$full" ] && twin frame-lesion-rt 1e-4 infer -m "$D/params.tzst" --protocol spont:4,stim:4,blank:2 --noise 0.5 \
	--noise-mode frame --lesion 1 --lesion 2:0-31 --rt 0.2 --every 1 --record 1 "$B"
twin linear 1e-4 linear -m "$D/params.tzst" $P "$B"
A="$P --spont-steps 2 --blank-steps 2 --spont-window 1"
twin anneal 1e-4 anneal -m "$D/params.tzst" $A "$B"
# The switches of cords(7) and cords-cuda(7): on one stream, without graphs,
# and profiled, the same model bit for bit (the answers never depend on
# them).
for v in ${full:+CORDS_LANES=0 CORDS_GRAPHS=0} CORDS_PROFILE=1; do
	expect_exit 0 "cords-anneal --device cuda with $v" env $v "$E/cords-anneal" -m "$D/params.tzst" $A --device cuda --log "$T/$v.tsv" -o "$T/$v.tzst" "$B"
	check "  the same model, bit for bit" cmp "$T/anneal-cuda.tzst" "$T/$v.tzst"
done
san "cords-anneal --device cuda with CORDS_LANES=0 and CORDS_GRAPHS=0"
check "CORDS_PROFILE=1 prints the table of calls" grep -q '^cords-profile: .*conv2d_bwd_data' "$T/.err"
# Non-deterministic backward algorithms, TF32 and bf16 against fp32 (the
# profiled run above): each step's loss, last cross-entropy, spontaneous
# penalty and gradient norm within 1e-4, 1e-3 and 1e-2 relative (the fp32
# tolerance; TF32's 10-bit and bf16's 8-bit mantissas), and the model
# within 1e-4 of the largest entry of each tensor for the first two. The
# emulation has no tensor cores: it computes TF32 as fp32 and rounds bf16
# operands as a GPU does, so the bf16 steps differ here (by up to 2e-3 in
# the penalty) and the others do not. A bf16 model after AdamW steps is not
# compared: AdamW divides by sqrt(v), and a tiny gradient's sign flip moves
# a weight by the whole step.
cut -f 6,9,10,12 "$T/CORDS_PROFILE=1.tsv" | tail -n +2 > "$T/fp32.num"
for v in ${full:+CORDS_DETERMINISTIC=0:1e-4 CORDS_PRECISION=tf32:1e-3} CORDS_PRECISION=bf16:1e-2; do
	tol=${v#*:} v=${v%:*}
	expect_exit 0 "cords-anneal --device cuda with $v" env $v "$E/cords-anneal" -m "$D/params.tzst" $A --device cuda --log "$T/$v.tsv" -o "$T/$v.tzst" "$B"
	cut -f 6,9,10,12 "$T/$v.tsv" | tail -n +2 > "$T/$v.num"
	check "  6 steps' loss, cross-entropy, penalty and gradient norm within $tol of fp32's" worst "$T/$v.num" "$T/fp32.num" --rows 6 --rel "$tol"
	[ "$v" = CORDS_PRECISION=bf16 ] || check "  the model within 1e-4 of fp32's" compare "$T/anneal-cuda.tzst" "$T/$v.tzst" 1e-4
done
san "cords-anneal --device cuda with CORDS_DETERMINISTIC=0 and CORDS_PRECISION=tf32 against fp32"
expect_exit 0 "cords-infer --device cuda --precision bf16" "$E/cords-infer" -m "$D/params.tzst" --spont 10 --stim 10 --precision bf16 --device cuda -o "$T/logits-bf16.tzst" "$B"
check "  logits within 1e-2 of the largest fp32 logit" sh -c "cords-cat -n logits --npz '$T/l16.npz' '$T/logits-bf16.tzst' &&
	cords-cat -n logits --npz '$T/l32.npz' '$T/logits-cuda.tzst' && /usr/bin/python3 '$WORST' '$T/l16.npz' '$T/l32.npz' --of-max 1e-2"
twin cnn 1e-4 cnn --depth 4 --size 12 --epochs 1 --rounds 0.1 --warmup 2 "$B"
# The rest of the chain from the CPU's CNN: fold (its check runs the BN CNN
# in eval mode and the folded RNN on the device), inverse, and finetune
# distilled from the CNN as teacher.
twin fold 1e-6 fold "$T/cnn-cpu.tzst" --check "$B"
if [ -n "$full" ]; then
	twin inverse 1e-4 inverse -m "$T/fold-cpu.tzst" --epochs 1 --stim-steps 3 --readouts 2 "$B"
	twin teacher 1e-4 finetune -m "$T/inverse-cpu.tzst" $P --steps 3 --teacher "$T/cnn-cpu.tzst" "$B"
fi
san "cords-inverse and cords-finetune --teacher --device cuda"

M=$TESTDATA/model/r2.model.tzst
expect_exit 0 "cords-eig --device cuda" "$E/cords-eig" -m "$M" -a 0 --tsv --top 10 --device cuda -o "$T/e-cuda.tsv"
cords-eig -m "$M" -a 0 --tsv --top 10 -o "$T/e-cpu.tsv" 2>/dev/null
check "  10 values listed" test "$(wc -l < "$T/e-cuda.tsv")" -eq 10
check "  equal to the CPU's top 10 (within 1e-9)" worst "$T/e-cuda.tsv" "$T/e-cpu.tsv" --rows 10 --abs 1e-9
expect_exit 0 "cords-eig --converge --device cuda (restarts and blocks on the device)" "$E/cords-eig" -m "$M" -a 0 \
	--converge -k 6 --tsv --device cuda -o "$T/k-cuda.tsv"
cords-eig -m "$M" -a 0 --converge -k 6 --tsv -o "$T/k-cpu.tsv" 2>/dev/null
check "  6 values listed" test "$(wc -l < "$T/k-cuda.tsv")" -eq 6
check "  equal to the CPU's (within 1e-9)" worst "$T/k-cuda.tsv" "$T/k-cpu.tsv" --rows 6 --abs 1e-9

# NCCL: one rank (CORDS_NCCL=1, a one-rank communicator) is the step without it.
expect_exit 0 "cords-linear --device cuda, CORDS_NCCL=1 over one rank" env CORDS_NCCL=1 "$E/cords-linear" -m "$D/params.tzst" $P --device cuda -o "$T/n1.tzst" "$B"
check "  model equals the one without NCCL (within 1e-6)" compare "$T/linear-cuda.tzst" "$T/n1.tzst" 1e-6
if ! command -v mpirun >/dev/null; then
	skip "NCCL across the ranks of mpirun -np 2" "no mpirun (apt-get install openmpi-bin)"
	exit 0
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" # OpenMPI's plugins leak at exit (mpi.sh)
MPI="mpirun --allow-run-as-root --oversubscribe -np 2 -x OMP_NUM_THREADS=1 -x ASAN_OPTIONS"
expect_exit 0 "cords-linear --device cuda under mpirun -np 2 (NCCL)" $MPI "$E/cords-linear" -m "$D/params.tzst" $P --device cuda -o "$T/n2.tzst" "$B"
check "  same model as one process (within 1e-5)" compare "$T/linear-cuda.tzst" "$T/n2.tzst" 1e-5
if [ -z "$full" ]; then
	san "cords-anneal --device cuda under mpirun -np 2"
	exit 0
fi
expect_exit 0 "cords-anneal --device cuda under mpirun -np 2 (NCCL, AdamW)" $MPI "$E/cords-anneal" -m "$D/params.tzst" $A --device cuda -o "$T/n3.tzst" "$B"
check "  same model as one process (within 1e-4)" compare "$T/anneal-cuda.tzst" "$T/n3.tzst" 1e-4
