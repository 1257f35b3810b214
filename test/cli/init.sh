# cords-init: shapes, reproducibility, the default initialisation, errors.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
D=$TESTDATA/model

expect_exit 0 "fashion-mnist R2" cords-init --dataset fashion-mnist --depth 2 --seed 5 -o "$T/a.tzst"
cords-init --dataset fashion-mnist --depth 2 --seed 5 > "$T/b.tzst"
cords-init --dataset fashion-mnist --depth 2 --seed 6 > "$T/c.tzst"
check "same seed, same bytes" cmp "$T/a.tzst" "$T/b.tzst"
check "another seed, another model" sh -c "! cmp -s '$T/a.tzst' '$T/c.tzst'"
cords-cat -m "$T/a.tzst" > "$T/meta"
for kv in format=cords-model depth=2 in_channels=1 height=28 width=28 classes=10 dataset=fashion-mnist \
	norm_mean=0.286 norm_std=0.353 seed=5 phi=relu alpha=0.2 spont_steps=100 stim_steps=100; do
	check "metadata $kv" grep -qx "$kv" "$T/meta"
done
check "R2 has 18 records (meta + 17 parameters)" test "$(cords-cat -l "$T/a.tzst" | wc -l)" -eq 18
expect_exit 0 "imagenet R8" cords-init --dataset imagenet -o "$T/in.tzst"
check "R8 has 53 parameters" test "$(cords-cat -l "$T/in.tzst" | grep -vc '^meta ')" -eq 53
check "R8 at 224: conv_bias.7 is 512x7x7" sh -c "cords-cat -l '$T/in.tzst' | grep -q '^conv_bias.7 .*\[512,7,7\]'"
check "R8: 1000 classes" sh -c "cords-cat -l '$T/in.tzst' | grep -q '^out_fc.bias .*\[1000\]'"
expect_exit 0 "explicit shape" cords-init --classes 7 --in-channels 3 --height 20 --width 24 --depth 4 -o "$T/e.tzst"
check "explicit shape recorded" sh -c "cords-cat -m '$T/e.tzst' | grep -qx width=24"

if have_python numpy; then
	cat > "$T/stats.py" <<PY
import sys; sys.path[:0] = ["$D", "$TOP/test/cli"]
import numpy as np, cstream, worst
p = dict(cstream.read(sys.argv[1]))
ok = True
for k, v in p.items():
    if k.endswith("original1"):
        fan = v[0].size
        g = p[k[:-1] + "0"].reshape(-1)
        ok &= bool(np.abs(v).max() <= 1 / np.sqrt(fan) + 1e-7)
        ok &= bool(np.abs(v).max() > 0.9 / np.sqrt(fan))      # fills the range
        ok &= worst.error(np.linalg.norm(v.reshape(len(v), -1), axis=1), g, rel=1e-5)[0] <= 1
    if k.startswith("conv_bias"):
        ok &= bool((v == 0).all())
b = p["out_fc.bias"]
ok &= bool(np.abs(b).max() <= 1 / np.sqrt(64) and np.abs(b).max() > 0)
sys.exit(not ok)
PY
	check "v uniform within 1/sqrt(fan_in), g = ||v||, conv_bias 0" $PY "$T/stats.py" "$T/a.tzst"
else
	skip "v uniform within 1/sqrt(fan_in), g = ||v||, conv_bias 0" "no numpy"
fi
$PY -c "
import sys; sys.path.insert(0, '$D')
import numpy as np, cstream
cstream.write('$T/x.tzst', [('x', np.random.default_rng(0).integers(0, 256, (2, 1, 28, 28), dtype=np.uint8))])"
expect_exit 0 "a fresh model runs" cords-infer -m "$T/a.tzst" --spont 2 --stim 2 "$T/x.tzst" -o "$T/o.tzst"

expect_exit 2 "nothing to build" cords-init
expect_exit 2 "unknown dataset" cords-init --dataset svhn
err_has "lists the datasets" "fashion-mnist"
expect_exit 2 "bad depth" cords-init --dataset mnist --depth 3
expect_exit 2 "bad classes" cords-init --classes 0 --in-channels 1 --size 28
expect_exit 0 "--help" cords-init --help
check "--help on stdout" grep -q Usage "$T/.out"
