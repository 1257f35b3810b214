# cords-linear / -anneal / -finetune: a short run, resume equal to an
# uninterrupted run (bit for bit), SIGTERM writes a checkpoint and exits 143,
# a NaN loss stops with an error, bad input is refused before training.
. "$(dirname "$0")/lib.sh"
D=$TESTDATA/train
P="--stim-steps 3 --readouts 2 --lr 1e-3 --clip 1"
export OMP_NUM_THREADS=2

expect_exit 0 "linear: 2 epochs on a tiny stream" cords-linear -m "$D/params.tzst" $P --epochs 2 --log "$T/log.tsv" -o "$T/lin.tzst" "$D/batches.tzst"
check "log has a header and 12 steps" sh -c "[ \$(grep -c '^train' '$T/log.tsv') -eq 12 ] && head -1 '$T/log.tsv' | grep -q '^kind'"
check "model records stage and protocol" sh -c "cords-cat -m '$T/lin.tzst' | grep -q '^stage=linear' && cords-cat -m '$T/lin.tzst' | grep -q '^stim_steps=3' && cords-cat -m '$T/lin.tzst' | grep -q '^norm_mean=0.5'"
check "no checkpoint left behind when none was asked for" test ! -e "$T/lin.tzst.ckpt"
# A stream without statistics, normalised by --norm-mean/--norm-std: the model
# records them, so cords-infer normalises the same u8 pixels as training did.
cords-cat -n x -n y "$D/batches.tzst" > "$T/nometa.tzst"
expect_exit 0 "linear: u8 batches without statistics, --norm-mean/--norm-std" cords-linear -m "$D/params.tzst" $P --epochs 1 --steps 1 --norm-mean 0.5 --norm-std 0.25 -o "$T/lin2.tzst" "$T/nometa.tzst"
check "the model records the normalisation it was trained with" sh -c "cords-cat -m '$T/lin2.tzst' | grep -qx 'norm_mean=0.5' && cords-cat -m '$T/lin2.tzst' | grep -qx 'norm_std=0.25'"
check "cords-infer then gives the same logits with or without the stream's statistics" sh -c "cords-infer -m '$T/lin2.tzst' '$T/nometa.tzst' | cords-cat -n logits > '$T/l1' && cords-infer -m '$T/lin2.tzst' '$D/batches.tzst' | cords-cat -n logits > '$T/l2' && cmp '$T/l1' '$T/l2'"

# --bptt-window: the last W steps only (test/unit/train_rnn.c checks its gradients against torch)
cords-finetune -m "$D/params.tzst" $P --epochs 1 --steps 2 -o "$T/full.tzst" "$D/batches.tzst" 2>/dev/null
expect_exit 0 "finetune --bptt-window 2" cords-finetune -m "$D/params.tzst" $P --epochs 1 --steps 2 --bptt-window 2 -o "$T/w2.tzst" "$D/batches.tzst"
check "a window shorter than the protocol trains another model" sh -c "! cmp -s '$T/full.tzst' '$T/w2.tzst'"
expect_exit 0 "--bptt-window longer than the protocol" cords-finetune -m "$D/params.tzst" $P --epochs 1 --steps 2 --bptt-window 1000 -o "$T/w50.tzst" "$D/batches.tzst"
check "a window longer than the protocol changes nothing" cmp "$T/full.tzst" "$T/w50.tzst"
expect_exit 2 "--bptt-window -1 is refused" cords-finetune -m "$D/params.tzst" --bptt-window -1 -o "$T/x.tzst" "$D/batches.tzst"

# Resume: 5 steps straight == 2 steps, checkpoint, then resumed to 5.
cords-linear -m "$D/params.tzst" $P --epochs 2 --steps 5 -o "$T/a.tzst" "$D/batches.tzst" 2>/dev/null
expect_exit 0 "first part of an interrupted run" cords-linear -m "$D/params.tzst" $P --epochs 2 --steps 2 --checkpoint "$T/ck" -o "$T/b1.tzst" "$D/batches.tzst"
expect_exit 0 "resume" cords-linear -m "$D/params.tzst" $P --epochs 2 --steps 5 --resume "$T/ck" -o "$T/b.tzst" "$D/batches.tzst"
check "resumed run is bit-identical to the uninterrupted one" cmp "$T/a.tzst" "$T/b.tzst"
# Across an epoch boundary, with the anneal schedule (fresh optimiser, slope per epoch).
A="--spont-steps 2 --stim-steps 3 --readouts 2 --blank-steps 2 --spont-window 1 --lr 1e-3 --clip 1 --epochs 2 --epoch-batches 3 --slope-start 0.5 --slope-step 0.25"
cords-anneal -m "$D/params.tzst" $A -o "$T/c.tzst" "$D/batches.tzst" 2>/dev/null
cords-anneal -m "$D/params.tzst" $A --steps 4 --checkpoint "$T/ck2" -o "$T/d1.tzst" "$D/batches.tzst" 2>/dev/null
expect_exit 0 "anneal resumed in its second epoch" cords-anneal -m "$D/params.tzst" $A --resume "$T/ck2" -o "$T/d.tzst" "$D/batches.tzst"
check "anneal: resumed equals uninterrupted" cmp "$T/c.tzst" "$T/d.tzst"
check "anneal ends with the last epoch's slope" sh -c "cords-cat -m '$T/c.tzst' | grep -q '^prelu_slope=0.25'"

# --cosine: over the whole run, or over each epoch when every epoch has a fresh optimiser (anneal)
expect_exit 0 "finetune --cosine over 2 epochs" cords-finetune -m "$D/params.tzst" $P --epochs 2 --cosine --log "$T/cos.tsv" -o "$T/cos.tzst" "$D/batches.tzst"
check "cosine: 1e-3 first, then falling every step to near 0 at step 12" awk -F'\t' '$1 == "train" { lr[$4] = $11; n = $4 }
	END { if (n != 12 || lr[1] != 0.001) exit 1; for (k = 2; k <= n; k++) if (lr[k] >= lr[k - 1]) exit 1; exit !(lr[n] < 5e-5) }' "$T/cos.tsv"
cords-finetune -m "$D/params.tzst" $P --epochs 2 --steps 7 --cosine --checkpoint "$T/ckc" -o "$T/cos1.tzst" "$D/batches.tzst" 2>/dev/null
expect_exit 0 "cosine run resumed at step 7" cords-finetune -m "$D/params.tzst" $P --epochs 2 --cosine --resume "$T/ckc" -o "$T/cos2.tzst" "$D/batches.tzst"
check "cosine: resumed equals uninterrupted" cmp "$T/cos.tzst" "$T/cos2.tzst"
expect_exit 0 "anneal --cosine: 2 epochs of 3 batches" cords-anneal -m "$D/params.tzst" $A --cosine --log "$T/cosa.tsv" -o "$T/cosa.tzst" "$D/batches.tzst"
check "anneal cosine: each slope's epoch starts at 1e-3 and falls" awk -F'\t' '$1 == "train" { lr[$4] = $11; n = $4 }
	END { exit !(n == 6 && lr[1] == 0.001 && lr[4] == 0.001 && lr[3] < lr[2] && lr[2] < lr[1] && lr[6] < lr[5]) }' "$T/cosa.tsv"
expect_exit 2 "--cosine on stdin needs --epoch-batches" sh -c "cords-finetune -m '$D/params.tzst' --cosine -o '$T/x.tzst' < '$D/batches.tzst'"

# SIGTERM: a checkpoint and exit 143 (the run is long enough never to end first).
cords-finetune -m "$D/params.tzst" $A --epochs 100000 --checkpoint "$T/ck3" -o "$T/e.tzst" "$D/batches.tzst" 2>"$T/sig.err" &
pid=$!
i=0
while [ ! -s "$T/ck3" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); [ $i -eq 30 ] && kill -TERM $pid; done
[ $i -lt 30 ] && kill -TERM $pid
wait $pid
rc=$?
check "SIGTERM exits 143" test $rc -eq 143
check "SIGTERM leaves a checkpoint" test -s "$T/ck3"
check "no model written when stopped" test ! -e "$T/e.tzst"
check "the message says how to continue" grep -q -- "--resume" "$T/sig.err"

# Errors.
expect_exit 2 "a model is required" cords-linear "$D/batches.tzst"
expect_exit 2 "--precision tf32 on the CPU is refused before any work" cords-linear -m "$D/params.tzst" --precision tf32 "$D/batches.tzst"
err_has "naming what it needs" "needs --device cuda"
expect_exit 2 "--precision bf16 on the CPU is refused for training" cords-anneal -m "$D/params.tzst" --precision bf16 "$D/batches.tzst"
err_has "saying that bf16 on the CPU is for inference" "bf16 on the CPU is for cords-infer"
expect_exit 2 "--precision with an unknown value" cords-cnn --depth 4 --size 12 --precision fp16 "$D/batches.tzst"
cat "$D/batches.tzst" "$D/huge.tzst" > "$T/huge.tzst"
expect_exit 1 "an overflowing loss stops the run" cords-linear -m "$D/params.tzst" $P --epochs 1 --checkpoint "$T/ck4" --every 1 -o "$T/nan.tzst" "$T/huge.tzst"
err_has "the error says NaN/Inf and names the checkpoint" "diverged at step 7.*NaN or Inf.*ck4"
check "and writes no model" test ! -e "$T/nan.tzst"
check "the last good checkpoint is kept" sh -c "cords-cat -m '$T/ck4' | grep -q '^ckpt_step=6'"
expect_exit 1 "batches of the wrong size are refused" cords-linear -m "$D/params.tzst" $P -o "$T/x.tzst" "$D/bad_size.tzst"
err_has "naming both shapes" "batch x \[2,1,10,10\] does not fit the model (expects \[B,1,12,12\])"
