# cords-infer against the literal PyTorch implementation (testdata/model),
# the batch-1 spontaneous phase and its cache, recording, input handling, errors.
. "$(dirname "$0")/lib.sh"
D=$TESTDATA/model
PY=/usr/bin/python3
cmp_case() { $PY "$D/compare.py" "$@"; }

cords-cat -n x "$D/r2-relu.case.tzst" > "$T/x2.tzst"
cords-cat -n x "$D/r4-prelu.case.tzst" > "$T/x4.tzst"
R2="-m $D/r2.model.tzst --spont 3 --stim 4"
R4="-m $D/r4.model.tzst --spont 3 --stim 5"

expect_exit 0 "R2 relu runs" cords-infer $R2 "$T/x2.tzst" -o "$T/o.tzst"
check "R2 relu logits match PyTorch" cmp_case "$T/o.tzst" "$D/r2-relu.case.tzst"
expect_exit 0 "R2 identity, every step, all areas" cords-infer $R2 --phi identity --every 1 --record all "$T/x2.tzst" -o "$T/o.tzst"
check "R2 identity: logits, read-outs and states match" cmp_case "$T/o.tzst" "$D/r2-identity.case.tzst" --names logits,logits_t,r0,r1
expect_exit 0 "R4 prelu, every 2nd step, areas 0 and 3" cords-infer $R4 --phi prelu --slope 0.25 --alpha 0.3 --every 2 --record 0,3 "$T/x4.tzst" -o "$T/o.tzst"
check "R4 prelu: every 2nd read-out and state match" cmp_case "$T/o.tzst" "$D/r4-prelu.case.tzst" --every 2 --names logits,logits_t,r0,r3
check "R4 prelu: unrecorded areas absent" sh -c "! cords-cat -l '$T/o.tzst' | grep -q '^r1 '"
expect_exit 0 "R4 relu from stdin" sh -c "cords-infer $R4 < '$T/x4.tzst' > '$T/o.tzst'"
check "R4 relu logits match" cmp_case "$T/o.tzst" "$D/r4-relu.case.tzst"

# CordsNet-R6 at 32x32 (256 channels, two skip convs), generated here (10 MB,
# not committed): every phi, every step, every area against PyTorch.
if have_python torch; then
	$PY "$D/gen.py" --r6 "$T"
	cords-cat -n x "$T/r6-relu.case.tzst" > "$T/x6.tzst"
	for phi in relu identity prelu; do
		o="--phi $phi"
		[ $phi = prelu ] && o="--phi prelu --slope 0.25 --alpha 0.3"
		expect_exit 0 "R6 $phi runs, every step and area recorded" cords-infer -m "$T/r6.model.tzst" --spont 3 --stim 4 $o \
			--every 1 --record all "$T/x6.tzst" -o "$T/o6.tzst"
		check "R6 $phi: logits, read-outs and states at every step match PyTorch" cmp_case "$T/o6.tzst" \
			"$T/r6-$phi.case.tzst" --names logits,logits_t,r0,r1,r2,r3,r4,r5
	done
else
	skip "R6 at 32x32 against PyTorch" "no torch"
fi

# Two batches of different sizes: the same answers as one by one.
cat > "$T/split.py" <<PY
import sys; sys.path.insert(0, "$D")
import cstream
x = dict(cstream.read(sys.argv[1]))["x"]
cstream.write(sys.argv[2], [("x", x[:1]), ("x", x[1:])])
PY
$PY "$T/split.py" "$T/x2.tzst" "$T/x21.tzst"
expect_exit 0 "two batches" cords-infer $R2 "$T/x21.tzst" -o "$T/o21.tzst"
check "two logits records" test "$(cords-cat -l "$T/o21.tzst" | grep -c '^logits ')" -eq 2
check "batches of 1 and 1 give the batch of 2's answers" cmp_case "$T/o21.tzst" "$D/r2-relu.case.tzst" --concat
cat "$T/x21.tzst" "$T/x2.tzst" > "$T/x112.tzst"
expect_exit 0 "batches of 1, 1, then 2" cords-infer $R2 --every 3 --record 1 "$T/x112.tzst" -o "$T/o112.tzst"
check "batch sizes follow the input" sh -c "cords-cat -l '$T/o112.tzst' | awk '\$1 == \"r1\" {print \$3}' | tr '\n' ' ' | grep -qx '\[2,1,64,7,7\] \[2,1,64,7,7\] \[2,2,64,7,7\] '"

# The spontaneous cache: written once, then read, same answers.
expect_exit 0 "spont cache written" cords-infer $R2 -v --spont-cache "$T/spont.tzst" "$T/x2.tzst" -o "$T/o.tzst"
err_has "first run computes" "computed"
check "cache file exists" test -s "$T/spont.tzst"
expect_exit 0 "spont cache read" cords-infer $R2 -v --spont-cache "$T/spont.tzst" "$T/x2.tzst" -o "$T/o.tzst"
err_has "second run reads the cache" "read from the cache"
check "answers from the cache match" cmp_case "$T/o.tzst" "$D/r2-relu.case.tzst"
expect_exit 0 "other protocol with the cache" cords-infer $R2 --alpha 0.3 -v --spont-cache "$T/spont.tzst" "$T/x2.tzst" -o "$T/o.tzst"
err_has "stale cache recomputed" "computed"

# u8 input normalised with the stream's norm_mean/norm_std = f32 input.
cat > "$T/u8.py" <<PY
import sys; sys.path.insert(0, "$D")
import numpy as np, cstream
x = np.random.default_rng(1).integers(0, 256, size=(2, 3, 20, 24), dtype=np.uint8)
m, s = np.array([0.4914, 0.4822, 0.4465], np.float32), np.array([0.2470, 0.2435, 0.2616], np.float32)
f = (x.astype(np.float32) / np.float32(255) - m[:, None, None]) / s[:, None, None]
meta = cstream.meta({"norm_mean": "0.4914,0.4822,0.4465", "norm_std": "0.2470,0.2435,0.2616"})
cstream.write(sys.argv[1], [("meta", meta), ("x", x), ("y", np.array([3, 5], np.int64))])
cstream.write(sys.argv[2], [("x", f.astype(np.float32))])
bad = x.astype(np.float32); bad[1, 2, 3, 4] = np.nan
cstream.write(sys.argv[3], [("x", bad)])
meta = cstream.meta({"norm_mean": "0.4914 0.4822 0.4465", "norm_std": " 0.2470, 0.2435,0.2616"})
cstream.write(sys.argv[4], [("meta", meta), ("x", x), ("y", np.array([3, 5], np.int64))])
PY
$PY "$T/u8.py" "$T/u8.tzst" "$T/f32.tzst" "$T/nan.tzst" "$T/u8blank.tzst"
expect_exit 0 "u8 input with y" cords-infer $R4 "$T/u8.tzst" -o "$T/ou8.tzst"
err_has "accuracy reported" "accuracy"
cords-infer $R4 "$T/f32.tzst" -o "$T/of32.tzst"
# same.py A B [differ]: A's logits within 1e-5 relative + 1e-6 of B's (differ:
# finite, and off by more than that)
cat > "$T/same.py" <<PY
import sys; sys.path.insert(0, "$D"); sys.path.insert(0, "$TOP/test/cli")
import cstream, worst
a, b = dict(cstream.read(sys.argv[1]))["logits"], dict(cstream.read(sys.argv[2]))["logits"]
if sys.argv[3:] == ["differ"]:
    e = worst.error(a, b, rel=1e-5, abs=1e-6)[0]
    assert 1 < e < float("inf"), e
else:
    worst.check(a, b, rel=1e-5, abs=1e-6, what="logits")
PY
check "u8 normalised like f32" $PY "$T/same.py" "$T/ou8.tzst" "$T/of32.tzst"
check "y passed through" sh -c "cords-cat -l '$T/ou8.tzst' | grep -q '^y '"
cords-infer $R4 "$T/u8blank.tzst" -o "$T/ou8b.tzst" 2>/dev/null
check "statistics separated by blanks: the same logits as by commas" $PY -c "
import sys; sys.path.insert(0, '$D')
import numpy as np, cstream
a, b = (dict(cstream.read(f))['logits'] for f in sys.argv[1:])
sys.exit(not np.array_equal(a, b))" "$T/ou8.tzst" "$T/ou8b.tzst"
expect_exit 0 "noise is seeded" cords-infer $R4 --noise 0.5 --seed 7 "$T/f32.tzst" -o "$T/n1.tzst"
cords-infer $R4 --noise 0.5 --seed 7 "$T/f32.tzst" -o "$T/n2.tzst"
cords-infer $R4 --noise 0.5 --seed 8 "$T/f32.tzst" -o "$T/n3.tzst"
check "same seed, same answer" cmp "$T/n1.tzst" "$T/n2.tzst"
check "noise changes the answer" $PY "$T/same.py" "$T/n1.tzst" "$T/of32.tzst" differ
check "another seed, another answer" sh -c "! cmp -s '$T/n1.tzst' '$T/n3.tzst'"

# --time-tsv: accuracy and mean activity per read-out step; --batches N.
# Labels: image 0's answer, and another class for image 1 (accuracy 1/2);
# one batch of 2, the same as two batches of 1, and with one-hot f32 labels.
cat > "$T/labels.py" <<PY
import sys; sys.path.insert(0, "$D")
import numpy as np, cstream
c = dict(cstream.read(sys.argv[1]))
x, lg = c["x"], c["logits"]
y = lg.argmax(1); y[1] = (y[1] + 1) % lg.shape[1]; y = y.astype(np.int64)
cstream.write(sys.argv[2], [("x", x), ("y", y)])
cstream.write(sys.argv[3], [("x", x[:1]), ("y", y[:1]), ("x", x[1:]), ("y", y[1:])])
cstream.write(sys.argv[4], [("x", x), ("y", np.eye(lg.shape[1], dtype=np.float32)[y])])
PY
$PY "$T/labels.py" "$D/r2-relu.case.tzst" "$T/xy.tzst" "$T/xy11.tzst" "$T/xysoft.tzst"
expect_exit 0 "--time-tsv" cords-infer $R2 --time-tsv "$T/t.tsv" "$T/xy.tzst" -o "$T/ot.tzst"
acc=$(sed -n 's/.*accuracy [0-9.]* (\([0-9]*\)\/\([0-9]*\)).*/\1 \2/p' "$T/.err")
check "header: step phase stim_step accuracy r0 r1" test "$(head -n 1 "$T/t.tsv")" = "$(printf 'step\tphase\tstim_step\taccuracy\tr0\tr1')"
check "one row per step: (3+4)/1" test "$(tail -n +2 "$T/t.tsv" | wc -l)" -eq 7
check "steps 1..7, phases and stimulus steps" sh -c "tail -n +2 '$T/t.tsv' | cut -f 1-3 | tr '\t\n' ', ' | grep -qx '1,spont,-2 2,spont,-1 3,spont,0 4,stim,1 5,stim,2 6,stim,3 7,stim,4 '"
check "last step's accuracy = the printed accuracy (1/2)" awk -v acc="$acc" -F '\t' \
	'END { split(acc, a, " "); exit !(acc != "" && $2 == "stim" && $4 + 0 == a[1] / a[2] && a[2] == 2) }' "$T/t.tsv"
check "no temporary files left" sh -c "! ls '$T' | grep -q 'tmp'"
cords-infer $R2 "$T/xy.tzst" -o "$T/o.tzst" 2>/dev/null
check "--time-tsv alone leaves the stream as it was (no logits_t)" cmp "$T/ot.tzst" "$T/o.tzst"
expect_exit 0 "--time-tsv, two batches of 1" cords-infer $R2 --time-tsv "$T/t11.tsv" "$T/xy11.tzst" -o "$T/o.tzst"
check "two batches of 1 = one batch of 2" $PY -c "
import numpy as np, sys; sys.path.insert(0, '$TOP/test/cli'); from worst import check
a, b = (np.genfromtxt(f, skip_header=1, usecols=(0, 2, 3, 4, 5)) for f in sys.argv[1:])
check(a, b, rel=1e-5, what='row')" "$T/t.tsv" "$T/t11.tsv"
expect_exit 0 "--time-tsv, one-hot f32 labels" cords-infer $R2 --time-tsv "$T/tsoft.tsv" "$T/xysoft.tzst" -o "$T/o.tzst"
check "soft labels: same accuracy as class indices" sh -c "cut -f 4 '$T/t.tsv' > '$T/a1'; cut -f 4 '$T/tsoft.tsv' > '$T/a2'; cmp '$T/a1' '$T/a2'"
expect_exit 0 "--time-tsv without labels" cords-infer $R2 --time-tsv "$T/tn.tsv" "$T/x2.tzst" -o "$T/o.tzst"
check "no labels: accuracy empty" sh -c "tail -n +2 '$T/tn.tsv' | cut -f 4 | grep -qvx '' && exit 1; test \$(wc -l < '$T/tn.tsv') -eq 8"
expect_exit 0 "--time-tsv --every 5" cords-infer -m "$D/r2.model.tzst" --spont 3 --stim 12 --every 5 --time-tsv "$T/t5.tsv" "$T/xy.tzst" -o "$T/o5.tzst"
check "--every 5: steps 5,10,15 (stimulus steps 2,7,12)" sh -c "tail -n +2 '$T/t5.tsv' | cut -f 1-3 | tr '\t\n' ', ' | grep -qx '5,stim,2 10,stim,7 15,stim,12 '"
check "--every 5 still writes logits_t [3,2,10]" sh -c "cords-cat -l '$T/o5.tzst' | grep -q '^logits_t .*\[3,2,10\]'"

# The means against the recorded states, over two batches, in the same run.
expect_exit 0 "--time-tsv with --record all --every 1" cords-infer $R2 --record all --every 1 --time-tsv "$T/tr.tsv" "$T/xy11.tzst" -o "$T/or.tzst"
cords-infer $R2 --record all --every 1 "$T/xy11.tzst" -o "$T/or0.tzst" 2>/dev/null
check "--time-tsv leaves the recorded series as they were" cmp "$T/or.tzst" "$T/or0.tzst"
cords-cat --npy-dir "$T/rec" "$T/or.tzst"
check "r0, r1 means = means of the recorded r0, r1 (1e-5)" $PY -c "
import numpy as np, sys; sys.path.insert(0, '$TOP/test/cli'); from worst import check
d, t = sys.argv[1], np.genfromtxt(sys.argv[2], skip_header=1, usecols=(4, 5))
for i in range(2):
    r = np.concatenate([np.load(f'{d}/r{i}.npy'), np.load(f'{d}/r{i}.1.npy')], axis=1).astype(np.float64)
    m = r.reshape(r.shape[0], -1).mean(axis=1)
    assert t.shape[0] == 7, t.shape
    check(t[:, i], m, rel=1e-5, what='r%d mean' % i)
    assert m[-1] > m[0] > 0" "$T/rec" "$T/tr.tsv"
check "means differ from the 2-image run's only by rounding" $PY -c "
import numpy as np, sys; sys.path.insert(0, '$TOP/test/cli'); from worst import check
a, b = (np.genfromtxt(f, skip_header=1, usecols=(4, 5)) for f in sys.argv[1:])
check(a, b, rel=1e-5, what='row')" "$T/tr.tsv" "$T/t.tsv"

# --batches N: only the first N batches.
expect_exit 0 "--batches 1 of 2" cords-infer $R2 --batches 1 --time-tsv "$T/tb.tsv" "$T/xy11.tzst" -o "$T/ob.tzst"
check "--batches 1: one logits record" test "$(cords-cat -l "$T/ob.tzst" | grep -c '^logits ')" -eq 1
err_has "--batches 1: accuracy over 1 image" "(1/1)"
check "--batches 1: its time table too (all right at the end)" sh -c "tail -n 1 '$T/tb.tsv' | cut -f 4 | grep -qx '1.000000'"
expect_exit 0 "--batches 5 of 2" cords-infer $R2 --batches 5 "$T/xy11.tzst" -o "$T/ob.tzst"
check "--batches 5: both batches" test "$(cords-cat -l "$T/ob.tzst" | grep -c '^logits ')" -eq 2
# (A batch with labels ends at its y: nothing after it is read.)
{ cat "$T/xy11.tzst"; printf 'not a stream'; } > "$T/xybad.tzst"
expect_exit 0 "--batches 2 stops before a bad tail" cords-infer $R2 --batches 2 "$T/xybad.tzst" -o "$T/ob.tzst"
check "--batches 2: two logits records" test "$(cords-cat -l "$T/ob.tzst" | grep -c '^logits ')" -eq 2
expect_exit 1 "without --batches the bad tail is read" cords-infer $R2 "$T/xybad.tzst" -o "$T/ob.tzst"
expect_exit 0 "--precision fp32 on the CPU" cords-infer $R2 --precision fp32 --batches 1 "$T/xy11.tzst" -o "$T/op.tzst"
check "--precision fp32 changes nothing on the CPU" sh -c "cords-infer $R2 --batches 1 '$T/xy11.tzst' -o '$T/oq.tzst' && cmp -s '$T/op.tzst' '$T/oq.tzst'"
expect_exit 2 "--precision tf32 needs a CUDA device" cords-infer $R2 --precision tf32 "$T/x2.tzst"
err_has "saying so" "tf32 needs --device cuda"
# --precision bf16 on the CPU: oneDNN's bf16 convolutions (AVX512_BF16 or AMX)
# with f32 accumulation, against fp32 on 200 images through R2 and R4: every
# logit within 1e-2 of its image's largest, the same class for >= 99 %.
cat > "$T/bf16.py" <<PY
import sys; sys.path.insert(0, "$D")
import numpy as np, cstream
if sys.argv[1] == "make":
    rng = np.random.default_rng(1)
    cstream.write(sys.argv[2], [("x", rng.standard_normal((200, 1, 28, 28)).astype(np.float32))])
    cstream.write(sys.argv[3], [("x", rng.standard_normal((200, 3, 20, 24)).astype(np.float32))])
    sys.exit(0)
a, b = (dict(cstream.read(f))["logits"].astype(np.float64) for f in sys.argv[1:3])
assert np.isfinite(a).all() and np.isfinite(b).all(), "not finite"
err = (np.abs(a - b).max(1) / np.abs(b).max(1)).max()
same = (a.argmax(1) == b.argmax(1)).mean()
assert 0 < err <= 1e-2, "logits off by %.3g of the largest (0: bf16 not used)" % err
assert same >= 0.99, "the same class for %.1f %% only" % (100 * same)
PY
$PY "$T/bf16.py" make "$T/r2-200.tzst" "$T/r4-200.tzst"
if cords-infer $R2 --precision bf16 "$T/r2-200.tzst" -o "$T/b2.tzst" 2>"$T/bf16.err"; then
	for m in 2 4; do
		eval "args=\$R$m"
		expect_exit 0 "R$m --precision bf16 on the CPU" cords-infer $args --stim 10 --precision bf16 "$T/r$m-200.tzst" -o "$T/b$m.tzst"
		cords-infer $args --stim 10 "$T/r$m-200.tzst" -o "$T/f$m.tzst"
		check "R$m bf16: logits within 1e-2 of the largest of fp32's, the same class for >= 99 % of 200 images" \
			$PY "$T/bf16.py" "$T/b$m.tzst" "$T/f$m.tzst"
	done
	# The spontaneous state is bf16's too: an fp32 cache is not read by a bf16
	# run, nor a bf16 cache by an fp32 run.
	cords-infer $R2 --spont-cache "$T/spont16.tzst" "$T/x2.tzst" -o "$T/o.tzst"
	expect_exit 0 "bf16 with an fp32 run's spont cache" cords-infer $R2 --precision bf16 -v --spont-cache "$T/spont16.tzst" "$T/x2.tzst" -o "$T/o.tzst"
	err_has "recomputes it" "computed"
	expect_exit 0 "bf16 with its own spont cache" cords-infer $R2 --precision bf16 -v --spont-cache "$T/spont16.tzst" "$T/x2.tzst" -o "$T/o.tzst"
	err_has "reads it" "read from the cache"
	expect_exit 0 "fp32 with a bf16 run's spont cache" cords-infer $R2 -v --spont-cache "$T/spont16.tzst" "$T/x2.tzst" -o "$T/o.tzst"
	err_has "recomputes it" "computed"
	check "with fp32's answers" cmp_case "$T/o.tzst" "$D/r2-relu.case.tzst"
elif grep -q 'needs AVX512_BF16 or AMX' "$T/bf16.err"; then
	skip "--precision bf16 on the CPU" "$(cat "$T/bf16.err")"
else
	fail "--precision bf16 on the CPU"; sed 's/^/    /' "$T/bf16.err" | head -3
fi
expect_exit 1 "--precision bf16 refused where oneDNN has no bf16 convolutions" \
	env ONEDNN_MAX_CPU_ISA=AVX512_CORE cords-infer $R2 --precision bf16 "$T/x2.tzst"
err_has "saying why, in one line" "bf16 on the CPU needs AVX512_BF16 or AMX"
expect_exit 2 "--precision fp16 is refused" cords-infer $R2 --precision fp16 "$T/x2.tzst"
err_has "naming the choices" "none of fp32, tf32, bf16"
expect_exit 2 "bad --batches 0" cords-infer $R2 --batches 0 "$T/x2.tzst"
expect_exit 2 "bad --batches x" cords-infer $R2 --batches x "$T/x2.tzst"
expect_exit 2 "--time-tsv - with the stream on stdout" cords-infer $R2 --time-tsv - "$T/x2.tzst"
expect_exit 1 "--time-tsv in a missing folder" cords-infer $R2 --time-tsv "$T/nodir/t.tsv" "$T/x2.tzst" -o "$T/o.tzst"

# Bad input.
expect_exit 1 "NaN input" cords-infer $R4 "$T/nan.tzst" -o "$T/o.tzst"
err_has "NaN named" "non-finite"
expect_exit 1 "batch that does not fit the model" cords-infer $R2 "$T/x4.tzst" -o "$T/o.tzst"
err_has "names the batch's shape" "\[2,3,20,24\]"
err_has "names the model's shape" "\[B,1,28,28\]"
printf '' > "$T/empty"
rm -f "$T/o.tzst"
expect_exit 1 "empty stream: an error, not an empty success" cords-infer $R2 "$T/empty" -o "$T/o.tzst"
err_has "naming it and the tools that make batches" "empty: no batches (x records): make them with cords-unpack | cords-prep"
check "no output left" test ! -e "$T/o.tzst"
expect_exit 1 "empty stream, --time-tsv" cords-infer $R2 --time-tsv "$T/te.tsv" "$T/empty" -o "$T/o.tzst"
check "empty stream: no table left" test ! -e "$T/te.tsv"
expect_exit 1 "missing model" cords-infer -m "$T/nope.tzst" "$T/x2.tzst"
expect_exit 2 "no model" cords-infer "$T/x2.tzst"
expect_exit 2 "bad --record" cords-infer $R2 --record 5 "$T/x2.tzst"
expect_exit 2 "bad --alpha" cords-infer $R2 --alpha 2 "$T/x2.tzst"
expect_exit 1 "bad device" cords-infer $R2 --device tpu "$T/x2.tzst"
if ! cords-infer $R2 --device cuda "$T/x2.tzst" -o "$T/o.tzst" 2>"$T/cuda.err"; then
	check "no CUDA: says so" grep -q "cuda" "$T/cuda.err"
else
	check "--device cuda: logits match PyTorch" cmp_case "$T/o.tzst" "$D/r2-relu.case.tzst"
fi
expect_exit 0 "--help" cords-infer --help
check "--help on stdout" grep -q Usage "$T/.out"

# CordsNet-R8 at 224, generated here (too big to commit): 2 + 2 steps, batch 1.
if [ -z "${SANITIZE:-}" ] && have_python torch; then
	$PY "$D/gen.py" --r8 "$T" --steps 2 2
	cords-cat -n x "$T/r8-relu.case.tzst" > "$T/x8.tzst"
	expect_exit 0 "R8 at 224 runs" cords-infer -m "$T/r8.model.tzst" --spont 2 --stim 2 --every 1 --record 7 "$T/x8.tzst" -o "$T/o8.tzst"
	check "R8 at 224: logits, read-outs and last area match PyTorch" cmp_case "$T/o8.tzst" "$T/r8-relu.case.tzst" --names logits,logits_t,r7
elif [ -n "${SANITIZE:-}" ]; then
	skip "R8 at 224 against PyTorch" "minutes under the sanitizers; make check without SANITIZE runs it"
else
	skip "R8 at 224 against PyTorch" "no torch"
fi
