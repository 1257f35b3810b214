# cords-cnn -> cords-fold -> cords-inverse -> cords-linear on a tiny stream:
# the chain runs, fold's check holds (folded logits = BN CNN eval logits within
# 1e-4), each stage is recorded, and models from the wrong stage are refused.
. "$(dirname "$0")/lib.sh"
D=$TESTDATA/train
B="$D/batches.tzst"
export OMP_NUM_THREADS=2

expect_exit 0 "cnn from a default initialisation, two rounds" cords-cnn --depth 4 --size 12 --epochs 1 --rounds 0.1,0.01 --warmup 2 --eval "$B" --log "$T/cnn.tsv" -o "$T/cnn.tzst" "$B"
check "cnn log has 12 steps and 2 evaluations" sh -c "[ \$(grep -c '^train' '$T/cnn.tsv') -eq 12 ] && [ \$(grep -c '^eval' '$T/cnn.tsv') -eq 2 ]"
expect_exit 0 "cnn --cosine: one round of 2 epochs" cords-cnn --depth 4 --size 12 --epochs 2 --rounds 0.1 --warmup 2 --cosine --log "$T/cos.tsv" -o "$T/cos.tzst" "$B"
check "cosine: warm-up to 0.1, then a falling rate that ends near 0" awk -F'\t' '$1 == "train" { lr[$4] = $8; n = $4 }
	END { if (n != 12 || lr[3] != 0.1) exit 1; for (k = 4; k <= n; k++) if (lr[k] >= lr[k - 1]) exit 1; exit !(lr[n] < 0.005) }' "$T/cos.tsv"
expect_exit 0 "cnn --eval-every 2 over 3 epochs" cords-cnn --depth 4 --size 12 --epochs 3 --rounds 0.1 --eval "$B" --eval-every 2 --log "$T/ev.tsv" -o "$T/ev.tzst" "$B"
check "evaluated after epochs 1 and 2 (the 2nd and the last), not 0" sh -c "[ \"\$(awk -F'\t' '\$1 == \"eval\" { printf \"%s \", \$3 }' '$T/ev.tsv')\" = '1 2 ' ]"
# --resume (cords-cnn(1), cords-inverse(1): as in cords-linear(1)): bit for bit
# an uninterrupted run. The CNN stops in its first round and resumes across the
# round boundary (SGD momentum, BatchNorm's running statistics, the warm-up);
# the inverse stops in its first epoch and resumes across the epoch (AdamW).
C="--depth 4 --size 12 --epochs 1 --rounds 0.1,0.01 --warmup 2"
cords-cnn $C --steps 4 --checkpoint "$T/ckc" -o "$T/c1.tzst" "$B" 2>/dev/null
expect_exit 0 "cnn resumed at step 4 of 12" cords-cnn $C --resume "$T/ckc" --log "$T/cr.tsv" -o "$T/c2.tzst" "$B"
check "cnn: resumed equals uninterrupted, bit for bit" cmp "$T/cnn.tzst" "$T/c2.tzst"
check "  the resumed run took steps 5 to 12, the first part another model" sh -c "[ \"\$(awk -F'\t' '\$1 == \"train\" { printf \"%s \", \$4 }' '$T/cr.tsv')\" = '5 6 7 8 9 10 11 12 ' ] && ! cmp -s '$T/c1.tzst' '$T/c2.tzst'"
expect_exit 2 "--cosine on stdin needs --epoch-batches" sh -c "cords-cnn --depth 4 --size 12 --cosine -o '$T/x.tzst' < '$B'"
check "cnn model has BN statistics and no conv_bias" sh -c "cords-cat -l '$T/cnn.tzst' | grep -q '^bn_skip_area.0.running_var' && ! cords-cat -l '$T/cnn.tzst' | grep -q '^conv_bias'"
expect_exit 0 "fold with the exactness check" cords-fold "$T/cnn.tzst" --check "$B" -o "$T/fold.tzst"
check "fold's check: folded logits equal the BN CNN's within 1e-4, recorded" sh -c "cords-cat -m '$T/fold.tzst' |
	awk -F= '\$1 == \"fold_check_max_diff\" { d = \$2; n++ } \$0 == \"stage=fold\" { s++ } END { exit !(n == 1 && s == 1 && d + 0 <= 1e-4) }'"
if have_python torch; then
	check "and in PyTorch (testdata/train/gen.py): the folded model's logits within 1e-4 of the BN CNN's on every batch" \
		/usr/bin/python3 "$TOP/test/cli/foldcheck.py" "$T/cnn.tzst" "$T/fold.tzst" "$B" 6
else
	skip "the folded model against the BN CNN in PyTorch" "no torch"
fi
expect_exit 0 "inverse" cords-inverse -m "$T/fold.tzst" --epochs 1 --stim-steps 3 --readouts 2 --log "$T/inv.tsv" -o "$T/inv.tzst" "$B"
check "inverse logs fit and eig" sh -c "head -1 '$T/inv.tsv' | grep -q 'fit.eig'"
check "inverse writes an RNN: identity phi, no area_bias" sh -c "cords-cat -m '$T/inv.tzst' | grep -q '^phi=identity' && ! cords-cat -l '$T/inv.tzst' | grep -q '^area_bias'"
cords-cat -n area_area.0.parametrizations.weight.original1 "$T/fold.tzst" > "$T/a1"
cords-cat -n area_area.0.parametrizations.weight.original1 "$T/inv.tzst" > "$T/a2"
check "inverse leaves the feed-forward convs as folded" cmp "$T/a1" "$T/a2"
I="--epochs 2 --stim-steps 3 --readouts 2"
cords-inverse -m "$T/fold.tzst" $I -o "$T/i.tzst" "$B" 2>/dev/null
cords-inverse -m "$T/fold.tzst" $I --steps 4 --checkpoint "$T/cki" -o "$T/i1.tzst" "$B" 2>/dev/null
expect_exit 0 "inverse resumed at step 4 of 12" cords-inverse -m "$T/fold.tzst" $I --resume "$T/cki" --log "$T/ir.tsv" -o "$T/i2.tzst" "$B"
check "inverse: resumed equals uninterrupted, bit for bit" cmp "$T/i.tzst" "$T/i2.tzst"
check "  the resumed run took steps 5 to 12, the first part another model" sh -c "[ \"\$(awk -F'\t' '\$1 == \"train\" { printf \"%s \", \$4 }' '$T/ir.tsv')\" = '5 6 7 8 9 10 11 12 ' ] && ! cmp -s '$T/i1.tzst' '$T/i2.tzst'"
expect_exit 0 "linear from the inverse model" cords-linear -m "$T/inv.tzst" --epochs 1 --stim-steps 3 --readouts 2 --steps 2 -o "$T/lin.tzst" "$B"

# --teacher: the RNN distilled from the BN CNN (each label mixed with the
# teacher's softmax). A share of 0 is plain training; a teacher so hot that
# its softmax is uniform is label smoothing, which a soft-label stream gives.
P2="--epochs 1 --stim-steps 3 --readouts 2 --steps 3 --lr 1e-3 --clip 1"
cords-finetune -m "$T/inv.tzst" $P2 -o "$T/plain.tzst" "$B" 2>/dev/null
expect_exit 0 "finetune with a teacher, share 0" cords-finetune -m "$T/inv.tzst" $P2 --teacher "$T/cnn.tzst" --teacher-mix 0 -o "$T/t0.tzst" "$B"
expect_exit 0 "share 0.5 at temperature 1e6" cords-finetune -m "$T/inv.tzst" $P2 --teacher "$T/cnn.tzst" --teacher-temp 1e6 -o "$T/t1.tzst" "$B"
expect_exit 0 "share 0.5 at temperature 1" cords-finetune -m "$T/inv.tzst" $P2 --teacher "$T/cnn.tzst" -o "$T/t2.tzst" "$B"
check "the model records the teacher's share and temperature" sh -c "cords-cat -m '$T/t1.tzst' | grep -q '^train_teacher=mix 0.5 temp 1e+06'"
cords-finetune -m "$T/t1.tzst" $P2 -o "$T/t3.tzst" "$B" 2>/dev/null
check "and a stage after it without a teacher records none" sh -c "cords-cat -m '$T/t3.tzst' | grep -q '^train_teacher=none'"
if have_python numpy; then
	check "share 0: the model trained without a teacher (within 1e-5)" compare "$T/plain.tzst" "$T/t0.tzst" 1e-5
	/usr/bin/python3 -c "
import sys, numpy as np; sys.path.insert(0, '$TESTDATA/model'); import cstream
out = []
for name, v in cstream.read('$B'):
    out.append((name, v) if name != 'y' else (name, (0.5 * np.eye(10)[v] + 0.05).astype(np.float32)))
cstream.write('$T/smooth.tzst', out)"
	cords-finetune -m "$T/inv.tzst" $P2 -o "$T/smooth.tzst.out" "$T/smooth.tzst" 2>/dev/null
	check "temperature 1e6: label smoothing by 0.5 (within 1e-3)" compare "$T/smooth.tzst.out" "$T/t1.tzst" 1e-3
	check "temperature 1: not label smoothing" not compare "$T/smooth.tzst.out" "$T/t2.tzst" 1e-3
else
	skip "a teacher's share 0 and temperature 1e6 against plain training and label smoothing" "no numpy"
fi
expect_exit 1 "a folded CNN is refused as teacher" cords-finetune -m "$T/inv.tzst" $P2 --teacher "$T/fold.tzst" -o "$T/x.tzst" "$B"
err_has "naming its stage" "stage fold"
cords-cnn --depth 2 --size 12 --epochs 1 --steps 1 -o "$T/cnn2.tzst" "$B" 2>/dev/null
expect_exit 1 "a teacher of another architecture is refused" cords-finetune -m "$T/inv.tzst" $P2 --teacher "$T/cnn2.tzst" -o "$T/x.tzst" "$B"
err_has "naming both" "teacher is an R2 .* the model an R4"
expect_exit 2 "--teacher-mix above 1 is refused" cords-finetune -m "$T/inv.tzst" --teacher "$T/cnn.tzst" --teacher-mix 1.5 "$B"
check "no model written by the refused runs" test ! -e "$T/x.tzst"

# BatchNorm's running statistics are buffers: weight decay leaves them alone
for wd in 0 1; do
	cords-cnn --depth 2 --size 12 --epochs 1 --steps 1 --warmup 0 --weight-decay $wd -o "$T/wd$wd.tzst" "$B" 2>/dev/null
	cords-cat -n bn_area_conv.1.running_var -n bn_inp.running_mean "$T/wd$wd.tzst" >"$T/wd$wd.run"
	cords-cat -n area_conv.1.parametrizations.weight.original1 "$T/wd$wd.tzst" >"$T/wd$wd.v"
done
check "running statistics do not depend on --weight-decay" cmp "$T/wd0.run" "$T/wd1.run"
check "the weights do" sh -c "! cmp -s '$T/wd0.v' '$T/wd1.v'"
check "and the statistics were written" test -s "$T/wd0.run"

expect_exit 1 "fold refuses a model without BN statistics" cords-fold "$T/inv.tzst" -o "$T/x.tzst"
err_has "naming its stage" "stage inverse"
expect_exit 1 "inverse refuses a BN CNN" cords-inverse -m "$T/cnn.tzst" -o "$T/x.tzst" "$B"
err_has "naming its stage" "stage cnn"
expect_exit 1 "linear refuses a BN CNN" cords-linear -m "$T/cnn.tzst" -o "$T/x.tzst" "$B"
err_has "naming the stage" "stage cnn"
expect_exit 1 "cnn refuses batches of the wrong size" cords-cnn --depth 4 --size 12 --epochs 1 -o "$T/x.tzst" "$D/bad_size.tzst"
err_has "naming both shapes" "batch x \[2,1,10,10\] does not fit the model"
