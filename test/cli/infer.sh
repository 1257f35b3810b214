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
PY
$PY "$T/u8.py" "$T/u8.tzst" "$T/f32.tzst" "$T/nan.tzst"
expect_exit 0 "u8 input with y" cords-infer $R4 "$T/u8.tzst" -o "$T/ou8.tzst"
err_has "accuracy reported" "accuracy"
cords-infer $R4 "$T/f32.tzst" -o "$T/of32.tzst"
cat > "$T/same.py" <<PY
import sys; sys.path.insert(0, "$D")
import numpy as np, cstream
a, b = dict(cstream.read(sys.argv[1]))["logits"], dict(cstream.read(sys.argv[2]))["logits"]
sys.exit(not np.allclose(a, b, rtol=1e-5, atol=1e-6))
PY
check "u8 normalised like f32" $PY "$T/same.py" "$T/ou8.tzst" "$T/of32.tzst"
check "y passed through" sh -c "cords-cat -l '$T/ou8.tzst' | grep -q '^y '"
expect_exit 0 "noise is seeded" cords-infer $R4 --noise 0.5 --seed 7 "$T/f32.tzst" -o "$T/n1.tzst"
cords-infer $R4 --noise 0.5 --seed 7 "$T/f32.tzst" -o "$T/n2.tzst"
cords-infer $R4 --noise 0.5 --seed 8 "$T/f32.tzst" -o "$T/n3.tzst"
check "same seed, same answer" cmp "$T/n1.tzst" "$T/n2.tzst"
check "noise changes the answer" sh -c "! $PY '$T/same.py' '$T/n1.tzst' '$T/of32.tzst'"
check "another seed, another answer" sh -c "! cmp -s '$T/n1.tzst' '$T/n3.tzst'"

# Bad input.
expect_exit 1 "NaN input" cords-infer $R4 "$T/nan.tzst" -o "$T/o.tzst"
err_has "NaN named" "non-finite"
expect_exit 1 "batch that does not fit the model" cords-infer $R2 "$T/x4.tzst" -o "$T/o.tzst"
err_has "names the batch's shape" "\[2,3,20,24\]"
err_has "names the model's shape" "\[B,1,28,28\]"
printf '' > "$T/empty"
expect_exit 0 "empty stream" cords-infer $R2 "$T/empty" -o "$T/o.tzst"
check "no output records" test ! -s "$T/o.tzst"
expect_exit 1 "missing model" cords-infer -m "$T/nope.tzst" "$T/x2.tzst"
expect_exit 2 "no model" cords-infer "$T/x2.tzst"
expect_exit 2 "bad --record" cords-infer $R2 --record 5 "$T/x2.tzst"
expect_exit 2 "bad --alpha" cords-infer $R2 --alpha 2 "$T/x2.tzst"
expect_exit 1 "bad device" cords-infer $R2 --device tpu "$T/x2.tzst"
if ! cords-infer $R2 --device cuda "$T/x2.tzst" -o "$T/o.tzst" 2>"$T/cuda.err"; then
	check "no CUDA: says so" grep -q "cuda" "$T/cuda.err"
fi
expect_exit 0 "--help" cords-infer --help
check "--help on stdout" grep -q Usage "$T/.out"

# CordsNet-R8 at 224, generated here (too big to commit): 2 + 2 steps, batch 1.
if [ -z "${SANITIZE:-}" ] && have_python torch; then
	$PY "$D/gen.py" --r8 "$T" --steps 2 2
	cords-cat -n x "$T/r8-relu.case.tzst" > "$T/x8.tzst"
	expect_exit 0 "R8 at 224 runs" cords-infer -m "$T/r8.model.tzst" --spont 2 --stim 2 --every 1 --record 7 "$T/x8.tzst" -o "$T/o8.tzst"
	check "R8 at 224: logits, read-outs and last area match PyTorch" cmp_case "$T/o8.tzst" "$T/r8-relu.case.tzst" --names logits,logits_t,r7
fi
