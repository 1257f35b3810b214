# Data-parallel training: mpirun -np 2 gives the same model as one process
# with the same global batch (within float reduction tolerance); rank 0 alone
# writes the model and the log.
. "$(dirname "$0")/lib.sh"
D=$TESTDATA/train
P="--stim-steps 3 --readouts 2 --lr 1e-3 --clip 1 --epochs 2"
# How gradients are summed (CORDS_NCCL, cords(7)): NCCL needs a CUDA device,
# and a value that is none of auto, 0, 1 is refused before any work.
expect_exit 1 "CORDS_NCCL=1 on the CPU is an error" env CORDS_NCCL=1 cords-linear -m "$D/params.tzst" $P -o "$T/nccl.tzst" "$D/batches.tzst"
check "  which names CORDS_NCCL and the device" grep -q "CORDS_NCCL=1: NCCL sums gradients on a CUDA device only.*on cpu" "$T/.err"
check "  and no model is written" test ! -e "$T/nccl.tzst"
expect_exit 1 "CORDS_NCCL=yes is refused" env CORDS_NCCL=yes cords-linear -m "$D/params.tzst" $P -o "$T/nccl.tzst" "$D/batches.tzst"
check "  naming the variable" grep -q "CORDS_NCCL=yes: expected auto, 0 or 1" "$T/.err"
if ! command -v mpirun >/dev/null; then
	skip "training under mpirun -np 2" "no mpirun (apt-get install openmpi-bin)"
	exit 0
fi
# LeakSanitizer (SANITIZE=1) is off under mpirun: OpenMPI's own plugins leak
# at exit; our code paths are leak-checked by the single-process tests.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
MPI="mpirun --allow-run-as-root --oversubscribe -np 2 -x OMP_NUM_THREADS=1 -x ASAN_OPTIONS"
OMP_NUM_THREADS=1 cords-linear -m "$D/params.tzst" $P -o "$T/one.tzst" "$D/batches.tzst" 2>/dev/null
expect_exit 0 "cords-linear under mpirun -np 2" $MPI cords-linear -m "$D/params.tzst" $P --log "$T/log.tsv" -o "$T/two.tzst" "$D/batches.tzst"
check "same model as one process (within 1e-5)" compare "$T/one.tzst" "$T/two.tzst" 1e-5
check "one log, each step written once" sh -c "grep -q '^train' '$T/log.tsv' && [ -z \"\$(grep '^train' '$T/log.tsv' | cut -f4 | sort | uniq -d)\" ]"
OMP_NUM_THREADS=1 cords-finetune -m "$D/params.tzst" $P --spont-steps 2 --blank-steps 2 --spont-window 1 -o "$T/f1.tzst" "$D/batches.tzst" 2>/dev/null
expect_exit 0 "cords-finetune under mpirun -np 2" $MPI cords-finetune -m "$D/params.tzst" $P --spont-steps 2 --blank-steps 2 --spont-window 1 -o "$T/f2.tzst" "$D/batches.tzst"
# AdamW divides by sqrt(v): after a dozen steps, summation-order differences
# of 1e-7 in tiny gradients show as up to ~2e-5 in the weights.
check "finetune: same model as one process (within 1e-4)" compare "$T/f1.tzst" "$T/f2.tzst" 1e-4
expect_exit 1 "more ranks than images in a batch is an error" mpirun --allow-run-as-root --oversubscribe -np 5 -x OMP_NUM_THREADS=1 -x ASAN_OPTIONS cords-linear -m "$D/params.tzst" $P -o "$T/five.tzst" "$D/batches.tzst"
check "and no model is written" test ! -e "$T/five.tzst"
