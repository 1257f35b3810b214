# CORDS_PROFILE: the table of backend calls at exit, and the same answers as
# an unprofiled run.
. "$(dirname "$0")/lib.sh"
D=$TESTDATA/train
P="--stim-steps 3 --readouts 2 --lr 1e-3 --clip 1 --epochs 1 --steps 2"

cords-finetune -m "$D/params.tzst" $P -o "$T/plain.tzst" "$D/batches.tzst" 2>"$T/plain.err"
expect_exit 0 "finetune under CORDS_PROFILE=1" env CORDS_PROFILE=1 cords-finetune -m "$D/params.tzst" $P -o "$T/prof.tzst" "$D/batches.tzst"
check "the profiled run trains the same model, bit for bit" cmp "$T/plain.tzst" "$T/prof.tzst"
check "no table without CORDS_PROFILE" sh -c "! grep -q cords-profile '$T/plain.err'"
check "the header names the backend and splits the wall time" \
	grep -q '^cords-profile: backend cpu, .* wall [0-9.]* s: in the backend [0-9.]* s .* outside it -\{0,1\}[0-9.]* s$' "$T/.err"
# every backward convolution ran 2 steps x 3 time steps: after its first call, some
# counted with a positive time
for op in conv2d conv2d_bwd_data conv2d_bwd_weights leaky_bwd; do
	check "$op has a row with calls and time" awk -v op="$op" '$1 == "cords-profile:" && $6 == op && $4 > 0 && $2 > 0 { ok = 1 } END { exit !ok }' "$T/.err"
done
check "rows by shape name the convolution's input and weights" \
	grep -q '^cords-profile: .* conv2d \[[0-9]*,[0-9]*,[0-9]*,[0-9]*\] \[[0-9]*,[0-9]*,3,3\]$' "$T/.err"
check "the operations' shares add up to the backend's time" awk '
	/in the backend/ { for (i = 1; i <= NF; i++) if ($i == "backend" && $(i + 1) + 0 > 0) b = $(i + 1) }
	/^cords-profile: +[0-9.]+ +[0-9.]+% +[0-9]+ +[0-9.]+ +[a-z_0-9]+$/ { s += $2 }
	END { exit !(b > 0 && s > 0.98 * b - 0.002 && s < 1.02 * b + 0.002) }' "$T/.err"
expect_exit 0 "CORDS_PROFILE=0 is off" env CORDS_PROFILE=0 cords-finetune -m "$D/params.tzst" $P -o "$T/off.tzst" "$D/batches.tzst"
check "no table with CORDS_PROFILE=0" sh -c "! grep -q cords-profile '$T/.err'"
