#!/bin/sh
# cords-infer's experiments (cords(7) EXPERIMENTS): noise in three modes,
# lesions, no recurrence, the protocol's segments, contrast, reaction times.
. "$(dirname "$0")/lib.sh"
D=$TESTDATA/model
PY=/usr/bin/python3
R2="-m $D/r2.model.tzst --alpha 0.2 --phi relu"
P="--spont 3 --stim 4"

# Eight images, as one batch of 8 and as eight batches of 1.
cat > "$T/x8.py" <<PY
import sys; sys.path.insert(0, "$D")
import numpy as np, cstream
x = np.random.default_rng(5).standard_normal((8, 1, 28, 28)).astype(np.float32)
cstream.write(sys.argv[1], [("x", x)])
cstream.write(sys.argv[2], [("x", x[i:i + 1]) for i in range(8)])
cstream.write(sys.argv[3], [("x", (x * np.float32(0.5)).astype(np.float32))])
PY
$PY "$T/x8.py" "$T/x8.tzst" "$T/x1.tzst" "$T/xhalf.tzst"
# logits of a stream's batches, joined, into an .npz (worst.py compares them)
cat > "$T/logits.py" <<PY
import sys; sys.path.insert(0, "$D")
import numpy as np, cstream
recs = cstream.read(sys.argv[1])
np.savez(sys.argv[2], **{n: np.concatenate([v for k, v in recs if k == n]) for n in sys.argv[3:]})
PY
logits() { $PY "$T/logits.py" "$@"; }
cords-infer $R2 $P "$T/x8.tzst" -o "$T/none.tzst"

# --noise 0 in every mode is no noise, bit for bit.
for mode in image frame state; do
	expect_exit 0 "noise 0, $mode" cords-infer $R2 $P --noise 0 --noise-mode $mode "$T/x8.tzst" -o "$T/z.tzst"
	check "noise 0, $mode: the same stream as no noise" cmp "$T/z.tzst" "$T/none.tzst"
done

# Seeded noise per image: the same at batch 1 and batch 8; another seed
# or another mode gives other answers.
logits "$T/none.tzst" "$T/none.npz" logits
for mode in image frame state; do
	N="--noise 0.5 --noise-mode $mode --seed 3"
	cords-infer $R2 $P $N "$T/x8.tzst" -o "$T/b8.tzst"
	cords-infer $R2 $P $N "$T/x1.tzst" -o "$T/b1.tzst"
	cords-infer $R2 $P $N --seed 4 "$T/x8.tzst" -o "$T/s4.tzst"
	logits "$T/b8.tzst" "$T/b8-$mode.npz" logits
	logits "$T/b1.tzst" "$T/b1.npz" logits
	logits "$T/s4.tzst" "$T/s4.npz" logits
	check "$mode noise: batch 1 = batch 8" worst --rel 1e-5 --abs 1e-6 "$T/b1.npz" "$T/b8-$mode.npz"
	check "$mode noise changes the answer" not worst --rel 1e-3 "$T/b8-$mode.npz" "$T/none.npz"
	check "$mode noise: another seed, other answers" not worst --rel 1e-3 "$T/s4.npz" "$T/b8-$mode.npz"
done
check "frame noise is not image noise" not worst --rel 1e-3 "$T/b8-frame.npz" "$T/b8-image.npz"
check "state noise is not frame noise" not worst --rel 1e-3 "$T/b8-state.npz" "$T/b8-frame.npz"

# Lesions hold r at exactly 0 at every step, state noise or not; the other
# areas and channels move.
cat > "$T/zero.py" <<PY
import sys; sys.path.insert(0, "$D")
import numpy as np, cstream
recs = dict(cstream.read(sys.argv[1]))
area, c0, c1, want = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
r = recs["r" + area]
assert r.shape[0] == 7, r.shape
inside, outside = r[:, :, c0:c1], np.concatenate([r[:, :, :c0], r[:, :, c1:]], axis=2)
ok = np.all(inside == 0) if want == "zero" else np.abs(inside).max() > 0
ok = ok and (outside.size == 0 or np.abs(outside).max() > 0)
sys.exit(0 if ok else 1)
PY
expect_exit 0 "lesion 1" cords-infer $R2 $P --lesion 1 --every 1 --record all "$T/x8.tzst" -o "$T/l.tzst"
check "lesion 1: r1 is 0 at every step" $PY "$T/zero.py" "$T/l.tzst" 1 0 64 zero
check "lesion 1: r0 is not" $PY "$T/zero.py" "$T/l.tzst" 0 0 64 nonzero
expect_exit 0 "lesion 0:8-15 with state noise" cords-infer $R2 $P --lesion 0:8-15 --noise 0.3 --noise-mode state \
	--every 1 --record 0 "$T/x8.tzst" -o "$T/l.tzst"
check "lesion 0:8-15: those channels of r0 are 0 at every step" $PY "$T/zero.py" "$T/l.tzst" 0 8 16 zero
expect_exit 0 "lesion 0:8-15 and 0:20-20" cords-infer $R2 $P --lesion 0:8-15 --lesion 0:20-20 --every 1 --record 0 \
	"$T/x8.tzst" -o "$T/l.tzst"
check "two lesions: channel 20 of r0 is 0 too" $PY "$T/zero.py" "$T/l.tzst" 0 20 21 zero
expect_exit 0 "no lesion, recorded" cords-infer $R2 $P --every 1 --record 0 "$T/x8.tzst" -o "$T/l.tzst"
check "without a lesion those channels move" $PY "$T/zero.py" "$T/l.tzst" 0 8 16 nonzero

# --no-recurrence = the model with every area_conv weight zeroed (its weight
# norm's g), through cords-export and cords-import.
cords-export --npz "$T/m.npz" "$D/r2.model.tzst"
$PY - "$T/m.npz" "$T/norec.npz" <<'PY'
import sys
import numpy as np
m = dict(np.load(sys.argv[1]))
for k in m:
    if k.startswith("area_conv.") and k.endswith("original0"):
        m[k] = np.zeros_like(m[k])
np.savez(sys.argv[2], **m)
PY
cords-import "$T/norec.npz" -o "$T/norec.model.tzst"
expect_exit 0 "no recurrence" cords-infer $R2 $P --no-recurrence "$T/x8.tzst" -o "$T/nr.tzst"
cords-infer -m "$T/norec.model.tzst" --alpha 0.2 --phi relu $P "$T/x8.tzst" -o "$T/nr-import.tzst"
logits "$T/nr.tzst" "$T/nr.npz" logits
logits "$T/nr-import.tzst" "$T/nr-import.npz" logits
check "--no-recurrence = area_conv zeroed through export and import" worst --abs 1e-7 "$T/nr.npz" "$T/nr-import.npz"
check "--no-recurrence changes the answer" not worst --rel 1e-3 "$T/nr.npz" "$T/none.npz"

# The protocol: segments as the options say them; blank steps recorded.
expect_exit 0 "protocol spont:3,stim:4" cords-infer $R2 --protocol spont:3,stim:4 "$T/x8.tzst" -o "$T/p.tzst"
check "protocol spont:3,stim:4 = --spont 3 --stim 4" cmp "$T/p.tzst" "$T/none.tzst"
cords-infer $R2 $P --blank 2 --every 1 "$T/x8.tzst" -o "$T/bl.tzst"
expect_exit 0 "protocol with a blank" cords-infer $R2 --protocol spont:3,stim:4,blank:2 --every 1 "$T/x8.tzst" -o "$T/p.tzst"
check "protocol spont:3,stim:4,blank:2 = --blank 2" cmp "$T/p.tzst" "$T/bl.tzst"
check "blank steps are read out (9 steps)" sh -c "cords-cat -l '$T/bl.tzst' | grep '^logits_t ' | grep -q '\[9,8,10\]'"
logits "$T/bl.tzst" "$T/bl.npz" logits
check "the blank steps change the answer" not worst --rel 1e-4 "$T/bl.npz" "$T/none.npz"
expect_exit 0 "two presentations" cords-infer $R2 --protocol stim:2,blank:1,stim:2 --every 1 "$T/x8.tzst" -o "$T/p2.tzst"
check "two presentations: 5 steps" sh -c "cords-cat -l '$T/p2.tzst' | grep '^logits_t ' | grep -q '\[5,8,10\]'"
expect_exit 2 "--protocol with --stim" cords-infer $R2 --stim 3 --protocol stim:2 "$T/x8.tzst" -o "$T/p.tzst"
expect_exit 2 "spont after stim" cords-infer $R2 --protocol stim:2,spont:2 "$T/x8.tzst" -o "$T/p.tzst"
expect_exit 2 "a bad segment" cords-infer $R2 --protocol stim:2,show:2 "$T/x8.tzst" -o "$T/p.tzst"
expect_exit 2 "a bad count" cords-infer $R2 --protocol stim:x "$T/x8.tzst" -o "$T/p.tzst"

# Contrast C scales the normalised image by C (toward the normalisation mean).
expect_exit 0 "contrast 0.5" cords-infer $R2 $P --contrast 0.5 "$T/x8.tzst" -o "$T/c.tzst"
cords-infer $R2 $P "$T/xhalf.tzst" -o "$T/ch.tzst"
logits "$T/c.tzst" "$T/c.npz" logits
logits "$T/ch.tzst" "$T/ch.npz" logits
check "contrast 0.5 = the image halved" worst --abs 1e-7 "$T/c.npz" "$T/ch.npz"
cords-infer $R2 $P --contrast 1 "$T/x8.tzst" -o "$T/c.tzst"
check "contrast 1 = none" cmp "$T/c.tzst" "$T/none.tzst"

# Reaction times: the first stimulus step whose softmax maximum reaches
# THETA, from the read-outs at every step. THETA: the median of the last
# read-out's maxima, so some images reach it and some may not.
cat > "$T/rt.py" <<PY
import sys; sys.path.insert(0, "$D")
import numpy as np, cstream
recs = dict(cstream.read(sys.argv[1]))
lt = recs["logits_t"].astype(np.float64)[int(sys.argv[2]):]
p = np.exp(lt - lt.max(-1, keepdims=True)); p /= p.sum(-1, keepdims=True)
if len(sys.argv) == 3:
    print("%.6f" % np.median(p[-1].max(-1))); sys.exit(0)
theta = float(sys.argv[3])
rt, cls = np.full(lt.shape[1], -1), np.full(lt.shape[1], -1)
for b in range(lt.shape[1]):
    hit = np.nonzero(p[:, b].max(-1) >= theta)[0]
    if hit.size:
        rt[b], cls[b] = hit[0] + 1, p[hit[0], b].argmax()
ok = np.array_equal(rt, recs["rt"]) and np.array_equal(cls, recs["rt_class"]) and (rt > 0).any()
if not ok:
    print(rt, recs["rt"], cls, recs["rt_class"], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
cords-infer $R2 $P --every 1 "$T/x8.tzst" -o "$T/rt0.tzst"
theta=$($PY "$T/rt.py" "$T/rt0.tzst" 3)
expect_exit 0 "rt $theta" cords-infer $R2 $P --every 1 --rt "$theta" "$T/x8.tzst" -o "$T/rt.tzst"
check "rt and rt_class = the first crossing in logits_t" $PY "$T/rt.py" "$T/rt.tzst" 3 "$theta"
cords-cat -n x "$T/x8.tzst" > "$T/xy.tzst"
expect_exit 0 "rt with labels" sh -c "$PY - '$T/x8.tzst' '$T/xy.tzst' <<'PY'
import sys; sys.path.insert(0, '$D')
import numpy as np, cstream
x = dict(cstream.read(sys.argv[1]))['x']
cstream.write(sys.argv[2], [('x', x), ('y', np.arange(8, dtype=np.int64) % 10)])
PY
cords-infer $R2 $P --rt $theta '$T/xy.tzst' -o '$T/rt.tzst'"
err_has "rt: accuracy and mean rt on stderr" "rt $theta: accuracy"

# Bad experiment options.
expect_exit 2 "lesion of an area the model lacks" cords-infer $R2 --lesion 2 "$T/x8.tzst" -o "$T/p.tzst"
expect_exit 2 "lesion beyond the channels" cords-infer $R2 --lesion 0:60-64 "$T/x8.tzst" -o "$T/p.tzst"
expect_exit 2 "lesion malformed" cords-infer $R2 --lesion 0:5 "$T/x8.tzst" -o "$T/p.tzst"
expect_exit 2 "noise mode unknown" cords-infer $R2 --noise 1 --noise-mode pink "$T/x8.tzst" -o "$T/p.tzst"
expect_exit 2 "rt above 1" cords-infer $R2 --rt 1.5 "$T/x8.tzst" -o "$T/p.tzst"

# Every long option of cords-infer --help is in its man page's OPTIONS, and
# back (the page's option lines: the line after each .TP).
cords-infer --help | grep -oE '^ *(-[a-zA-Z], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' | sort -u >"$T/help"
sed -n '/^\.SH OPTIONS/,/^\.SH [A-Z]/p' "$TOP/man/man1/cords-infer.1" | grep -A1 '^\.TP' | grep -v '^\.TP' |
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' | grep -oE -- '--[a-z0-9-]+' | sort -u >"$T/man"
check "cords-infer: --help and cords-infer(1) name the same options ($(wc -l <"$T/help"))" cmp "$T/help" "$T/man"
diff "$T/help" "$T/man" | grep '^[<>]' | sed 's/^/    /' | head

# A BatchNorm CNN (stage 1) runs as a feed-forward net: its logits are
# PyTorch's (testdata/train/gen.py: the BN CNN of params.tzst and the BN
# tensors of fold.tzst, in eval mode, float64), and its accuracy is
# cords-cnn's evaluation of the same model.
TR=$TESTDATA/train
$PY - "$T/bn.tzst" "$T/bnx.tzst" <<PY
import sys; sys.path.insert(0, "$D")
import cstream
p, f = cstream.read("$TR/params.tzst"), cstream.read("$TR/fold.tzst")
cstream.write(sys.argv[1], [(n, v) for n, v in p if not n.startswith("conv_bias")] + [(n, v) for n, v in f if n.startswith("bn_")])
cstream.write(sys.argv[2], [(n, v) for n, v in f if n in ("x", "y")])
PY
expect_exit 0 "BN CNN runs" cords-infer -m "$T/bn.tzst" "$T/bnx.tzst" -o "$T/bno.tzst"
logits "$T/bno.tzst" "$T/bno.npz" logits
cords-cat -n logits "$TR/fold.tzst" > "$T/bnt.tzst"
logits "$T/bnt.tzst" "$T/bnt.npz" logits
check "BN CNN logits = PyTorch's" worst --rel 1e-4 --abs 1e-5 "$T/bno.npz" "$T/bnt.npz"
expect_exit 0 "BN CNN, frame noise 0" cords-infer -m "$T/bn.tzst" --noise 0 --noise-mode frame --stim 3 "$T/bnx.tzst" -o "$T/bnf.tzst"
logits "$T/bnf.tzst" "$T/bnf.npz" logits
check "BN CNN, frame noise 0: the average of 3 noiseless passes" worst --rel 1e-6 --abs 1e-7 "$T/bnf.npz" "$T/bno.npz"
expect_exit 0 "BN CNN, frame noise" cords-infer -m "$T/bn.tzst" --noise 0.5 --noise-mode frame --stim 3 "$T/bnx.tzst" -o "$T/bnf.tzst"
logits "$T/bnf.tzst" "$T/bnf.npz" logits
check "BN CNN, frame noise changes the answer" not worst --rel 1e-3 "$T/bnf.npz" "$T/bno.npz"
expect_exit 2 "BN CNN: no reaction times" cords-infer -m "$T/bn.tzst" --rt 0.5 "$T/bnx.tzst" -o "$T/p.tzst"
expect_exit 2 "BN CNN: no state noise" cords-infer -m "$T/bn.tzst" --noise 1 --noise-mode state "$T/bnx.tzst" -o "$T/p.tzst"
cords-cnn --depth 4 --size 12 --epochs 1 --rounds 0.1 --warmup 2 --eval "$TR/batches.tzst" --log "$T/cnn.tsv" \
	-o "$T/cnn.tzst" "$TR/batches.tzst" 2>/dev/null
expect_exit 0 "BN CNN from cords-cnn" cords-infer -m "$T/cnn.tzst" "$TR/batches.tzst" -o "$T/bno.tzst"
acc=$(awk -F'\t' '$1 == "eval" { a = $7 } END { printf "%.4f", a }' "$T/cnn.tsv")
err_has "BN CNN: cords-infer's accuracy = cords-cnn's evaluation ($acc)" "accuracy $acc "
