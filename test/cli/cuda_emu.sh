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
	echo "cuda_emu.sh: no numpy to compare models; skipped" >&2
	exit 0
fi

expect_exit 0 "cords-infer --device cuda" "$E/cords-infer" -m "$D/params.tzst" --device cuda --spont 10 --stim 10 -o "$T/i-cuda.tzst" "$B"
cords-infer -m "$D/params.tzst" --spont 10 --stim 10 -o "$T/i-cpu.tzst" "$B" 2>/dev/null
check "  logits equal the CPU's (within 1e-4)" compare "$T/i-cpu.tzst" "$T/i-cuda.tzst" 1e-4

expect_exit 0 "cords-linear --device cuda" "$E/cords-linear" -m "$D/params.tzst" $P --device cuda -o "$T/l-cuda.tzst" "$B"
cords-linear -m "$D/params.tzst" $P -o "$T/l-cpu.tzst" "$B" 2>/dev/null
check "  model equals the CPU's (within 1e-4)" compare "$T/l-cpu.tzst" "$T/l-cuda.tzst" 1e-4

A="$P --spont-steps 2 --blank-steps 2 --spont-window 1"
expect_exit 0 "cords-anneal --device cuda (spontaneous and blank phases)" "$E/cords-anneal" -m "$D/params.tzst" $A --device cuda -o "$T/a-cuda.tzst" "$B"
cords-anneal -m "$D/params.tzst" $A -o "$T/a-cpu.tzst" "$B" 2>/dev/null
check "  model equals the CPU's (within 1e-4)" compare "$T/a-cpu.tzst" "$T/a-cuda.tzst" 1e-4

C="--depth 4 --size 12 --epochs 1 --rounds 0.1 --warmup 2"
expect_exit 0 "cords-cnn --device cuda (BatchNorm, SGD)" "$E/cords-cnn" --device cuda $C -o "$T/c-cuda.tzst" "$B"
cords-cnn $C -o "$T/c-cpu.tzst" "$B" 2>/dev/null
check "  model equals the CPU's (within 1e-4)" compare "$T/c-cpu.tzst" "$T/c-cuda.tzst" 1e-4
# The rest of the chain from the CPU's CNN: fold (its check runs the BN CNN
# in eval mode and the folded RNN on the device), inverse, and finetune
# distilled from the CNN as teacher.
expect_exit 0 "cords-fold --check --device cuda" "$E/cords-fold" "$T/c-cpu.tzst" --check "$B" --device cuda -o "$T/f-cuda.tzst"
cords-fold "$T/c-cpu.tzst" --check "$B" -o "$T/f-cpu.tzst" 2>/dev/null
check "  folded model equals the CPU's (within 1e-6)" compare "$T/f-cpu.tzst" "$T/f-cuda.tzst" 1e-6
I="--epochs 1 --stim-steps 3 --readouts 2"
expect_exit 0 "cords-inverse --device cuda" "$E/cords-inverse" -m "$T/f-cpu.tzst" $I --device cuda -o "$T/v-cuda.tzst" "$B"
cords-inverse -m "$T/f-cpu.tzst" $I -o "$T/v-cpu.tzst" "$B" 2>/dev/null
check "  model equals the CPU's (within 1e-4)" compare "$T/v-cpu.tzst" "$T/v-cuda.tzst" 1e-4
F="--epochs 1 --stim-steps 3 --readouts 2 --steps 3 --lr 1e-3 --clip 1 --teacher $T/c-cpu.tzst"
expect_exit 0 "cords-finetune --teacher --device cuda" "$E/cords-finetune" -m "$T/v-cpu.tzst" $F --device cuda -o "$T/t-cuda.tzst" "$B"
cords-finetune -m "$T/v-cpu.tzst" $F -o "$T/t-cpu.tzst" "$B" 2>/dev/null
check "  model equals the CPU's (within 1e-4)" compare "$T/t-cpu.tzst" "$T/t-cuda.tzst" 1e-4

M=$TESTDATA/model/r2.model.tzst
expect_exit 0 "cords-eig --device cuda" "$E/cords-eig" -m "$M" -a 0 --tsv --top 10 --device cuda -o "$T/e-cuda.tsv"
cords-eig -m "$M" -a 0 --tsv --top 10 -o "$T/e-cpu.tsv" 2>/dev/null
check "  top 10 equal the CPU's (within 1e-9)" sh -c "paste '$T/e-cuda.tsv' '$T/e-cpu.tsv' |
	awk -F'\t' 'NF != 4 || (\$1 - \$3) ^ 2 + (\$2 - \$4) ^ 2 > 1e-18 { bad = 1 } END { exit bad || NR != 10 }'"

# NCCL: one rank (CORDS_NCCL=1, a one-rank communicator) is the step without it.
expect_exit 0 "cords-linear --device cuda, CORDS_NCCL=1 over one rank" env CORDS_NCCL=1 "$E/cords-linear" -m "$D/params.tzst" $P --device cuda -o "$T/n1.tzst" "$B"
check "  model equals the one without NCCL (within 1e-6)" compare "$T/l-cuda.tzst" "$T/n1.tzst" 1e-6
if ! command -v mpirun >/dev/null; then
	echo "cuda_emu.sh: no mpirun; NCCL across ranks skipped" >&2
	exit 0
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" # OpenMPI's plugins leak at exit (mpi.sh)
MPI="mpirun --allow-run-as-root --oversubscribe -np 2 -x OMP_NUM_THREADS=1 -x ASAN_OPTIONS"
expect_exit 0 "cords-linear --device cuda under mpirun -np 2 (NCCL)" $MPI "$E/cords-linear" -m "$D/params.tzst" $P --device cuda -o "$T/n2.tzst" "$B"
check "  same model as one process (within 1e-5)" compare "$T/l-cuda.tzst" "$T/n2.tzst" 1e-5
expect_exit 0 "cords-anneal --device cuda under mpirun -np 2 (NCCL, AdamW)" $MPI "$E/cords-anneal" -m "$D/params.tzst" $A --device cuda -o "$T/n3.tzst" "$B"
check "  same model as one process (within 1e-4)" compare "$T/a-cuda.tzst" "$T/n3.tzst" 1e-4
