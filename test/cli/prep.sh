# cords-prep: test transforms against numpy / torchvision, determinism across
# seeds and threads, shuffling, epochs, MixUp/CutMix labels, errors.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
FM=/usr/share/datasets/fashion-mnist
RS="$(dirname "$0")/readstream.py"
[ -d "$FM" ] && have_python numpy || { skip "every cords-prep check" "needs $FM and numpy"; exit 0; }

cords-unpack --split test --batch 100 -o "$T/test.tzst" "$FM"
# 2000 samples for the training-split checks (a count other than 60000).
$PY - "$T" <<'PYEOF'
import gzip, struct, sys
d = sys.argv[1]
x = gzip.open('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz').read()[16:16 + 2000 * 784]
y = gzip.open('/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz').read()[8:8 + 2000]
open(d + '/train-images-idx3-ubyte', 'wb').write(struct.pack('>IIII', 2051, 2000, 28, 28) + x)
open(d + '/train-labels-idx1-ubyte', 'wb').write(struct.pack('>II', 2049, 2000) + y)
PYEOF
cords-unpack --dataset fashion-mnist --allow-partial --batch 64 -o "$T/train.tzst" "$T/train-images-idx3-ubyte" "$T/train-labels-idx1-ubyte"

# Loads a stream's x and y as numpy arrays (helper for the checks below).
cat > "$T/load.py" <<PYEOF
import sys, numpy as np
sys.path.insert(0, '$(dirname "$0")')
from readstream import records
def load(path):
    xs, ys, meta = [], [], ''
    dt = {'u8': np.uint8, 'f32': '<f4', 'i64': '<i8'}
    for name, t, shape, data in records(path):
        if name == 'meta': meta = data.decode()
        if name == 'x': xs.append(np.frombuffer(data, dt[t]).reshape(shape))
        if name == 'y': ys.append(np.frombuffer(data, dt[t]).reshape(shape))
    return np.concatenate(xs), np.concatenate(ys), meta
PYEOF

expect_exit 0 "test split: metadata gives dataset and split" cords-prep -o "$T/p.tzst" "$T/test.tzst"
check "test split: x = (u8/255 - 0.286)/0.353 in the original order, y unchanged" $PY -c "
import sys; sys.path.insert(0, '$T'); from load import load; from worst import check; import numpy as np
x, y, _ = load('$T/test.tzst'); px, py, m = load('$T/p.tzst')
ref = ((x.astype(np.float32) / np.float32(255)) - np.float32(0.286)) / np.float32(0.353)
assert px.dtype == np.float32 and px.shape == (10000, 1, 28, 28), px.shape
assert np.array_equal(y, py)
check(px, ref, abs=1e-6)
assert 'format=cords-batches' in m and 'split=test' in m and 'mix=none' in m"
check "default batch 256, last one 16" sh -c "cords-cat -l '$T/p.tzst' | grep -c '^x .*\[256,1,28,28\]' | grep -qx 39 && cords-cat -l '$T/p.tzst' | grep -q '^x .*\[16,1,28,28\]'"

if have_python torchvision; then
	expect_exit 0 "test split at 64: resize with antialias" cords-prep --size 64 --batch 50 -o "$T/p64.tzst" "$T/test.tzst"
	check "resize 28 -> 64 matches torchvision (PIL bilinear) within 1e-5" $PY -c "
import sys; sys.path.insert(0, '$T'); from load import load; from worst import check; import numpy as np, torch
from PIL import Image; import torchvision.transforms as T
x, y, _ = load('$T/test.tzst'); px, py, _ = load('$T/p64.tzst')
tf = T.Compose([T.Resize(64), T.ToTensor(), T.Normalize([0.286], [0.353])])
ref = np.stack([tf(Image.fromarray(x[i, 0])).numpy() for i in range(300)])
check(px[:300], ref, abs=1e-5)"
else
	skip "resize 28 -> 64 against torchvision" "no torchvision"
fi

expect_exit 0 "train: --dataset/--split override, seed 1" cords-prep --dataset fashion-mnist --split train --seed 1 -o "$T/a.tzst" "$T/train.tzst"
cords-prep --dataset fashion-mnist --split train --seed 1 --workers 1 -o "$T/a1.tzst" "$T/train.tzst"
cords-prep --dataset fashion-mnist --split train --seed 1 --workers 2 -o "$T/a2.tzst" "$T/train.tzst"
cords-prep --dataset fashion-mnist --split train --seed 2 -o "$T/b.tzst" "$T/train.tzst"
check "same seed, same bytes" cmp "$T/a.tzst" "$T/a2.tzst"
check "same bytes with 1 or 2 worker threads" cmp "$T/a1.tzst" "$T/a2.tzst"
check "another seed, other bytes" sh -c "! cmp -s '$T/a.tzst' '$T/b.tzst'"
check "mixed labels: y f32 [B,10], rows sum to 1, two classes at most" $PY -c "
import sys; sys.path.insert(0, '$T'); from load import load; import numpy as np
x, y, m = load('$T/a.tzst')
assert y.dtype == np.float32 and y.shape == (2000, 10), y.shape
assert np.abs(y.sum(1) - 1).max() < 1e-5 and ((y > 0).sum(1) <= 2).all()
assert 'mix=mixup|cutmix' in m and 'hflip' in m and 'affine' in m and 'color_jitter' in m"

expect_exit 0 "train --no-mix, 2 epochs" cords-prep --dataset fashion-mnist --split train --no-mix --epochs 2 --batch 100 -o "$T/e.tzst" "$T/train.tzst"
check "each epoch is a reshuffled permutation of the labels" $PY -c "
import sys; sys.path.insert(0, '$T'); from load import load; import numpy as np
x, y, _ = load('$T/train.tzst'); px, py, _ = load('$T/e.tzst')
assert py.dtype == np.int64 and len(py) == 4000
e1, e2 = py[:2000], py[2000:]
assert (np.bincount(e1, minlength=10) == np.bincount(y, minlength=10)).all()
assert (np.bincount(e2, minlength=10) == np.bincount(y, minlength=10)).all()
assert (e1 != y).mean() > 0.5 and (e1 != e2).mean() > 0.5
assert not np.array_equal(px[:2000], px[2000:])"
# The same 2000 images, in their order, augmented and through the test transform.
cords-prep --dataset fashion-mnist --split train --no-mix --shuffle-buffer 0 --batch 100 -o "$T/aug.tzst" "$T/train.tzst"
cords-prep --dataset fashion-mnist --split test --batch 100 -o "$T/plain.tzst" "$T/train.tzst"
check "augmentation keeps the value range and changes images (> 95 % of them, by > 0.1 on average)" $PY -c "
import sys; sys.path.insert(0, '$T'); from load import load; import numpy as np
a, ay, _ = load('$T/aug.tzst'); b, by, _ = load('$T/plain.tzst')
assert a.shape == b.shape == (2000, 1, 28, 28) and np.array_equal(ay, by), (a.shape, b.shape)
lo, hi = (0 - 0.286) / 0.353, (1 - 0.286) / 0.353
assert a.min() >= lo - 1e-5 and a.max() <= hi + 1e-5, (a.min(), a.max())
d = np.abs(a - b).mean(axis=(1, 2, 3))
print('changed', (d > 0).mean(), 'mean change', d.mean(), file=sys.stderr)
assert (d > 0).mean() > 0.95 and d.mean() > 0.1, ((d > 0).mean(), d.mean())"

# Bad labels: a stream with label 12 made by hand.
$PY - "$T/bad.tzst" <<'PYEOF'
import struct, subprocess, sys
def rec(name, dt, shape, data):
    h = b'CRD1' + struct.pack('<BBH', dt, len(shape), len(name)) + b''.join(struct.pack('<Q', s) for s in shape)
    return subprocess.run(['zstd', '-q', '-c', '--content-size', '-C'], input=h + name.encode() + data,
                          capture_output=True, check=True).stdout
out = rec('x', 5, (3, 1, 28, 28), bytes(3 * 784)) + rec('y', 9, (3,), struct.pack('<3q', 1, 12, 2))
open(sys.argv[1], 'wb').write(out)
PYEOF
expect_exit 1 "label out of range" cords-prep --dataset fashion-mnist --split test -o "$T/o.tzst" "$T/bad.tzst"
err_has "names file, sample and label" "bad.tzst: sample 1: label 12 outside 0..9"
expect_exit 0 "--skip-bad skips it" cords-prep --dataset fashion-mnist --split test --skip-bad -o "$T/o.tzst" "$T/bad.tzst"
err_has "counted" "2 samples in 1 epoch(s) written, 1 skipped"
head -c 3000 "$T/test.tzst" > "$T/cut.tzst"
expect_exit 1 "truncated input" cords-prep -o "$T/o.tzst" "$T/cut.tzst"
err_has "names the file" "cut.tzst"
expect_exit 2 "--epochs 2 from stdin" cords-prep --epochs 2
expect_exit 2 "bad size" cords-prep --size 0 "$T/test.tzst"
expect_exit 2 "unknown dataset" cords-prep --dataset svhn "$T/test.tzst"
expect_exit 0 "--help" cords-prep --help

# The other recipes run end to end: MNIST train (affine, jitter, elastic),
# CIFAR train (flip, RandAugment, MixUp/CutMix) at native size and 64.
cords-unpack --dataset mnist --allow-partial -o "$T/mn.tzst" "$T/train-images-idx3-ubyte" "$T/train-labels-idx1-ubyte"
expect_exit 0 "MNIST train recipe" cords-prep --batch 500 -o "$T/mn-p.tzst" "$T/mn.tzst"
check "MNIST: elastic in the recipe, no mixing, MNIST normalisation" sh -c "cords-cat -m '$T/mn-p.tzst' | grep -q '^transforms=.*elastic(20,5)' && \
	cords-cat -m '$T/mn-p.tzst' | grep -qx mix=none && cords-cat -m '$T/mn-p.tzst' | grep -qx norm_mean=0.1307"
check "MNIST: y i64, x within the normalised range" $PY -c "
import sys; sys.path.insert(0, '$T'); from load import load; import numpy as np
x, y, _ = load('$T/mn-p.tzst')
assert y.dtype == np.int64 and x.shape == (2000, 1, 28, 28)
assert x.min() >= (0 - 0.1307) / 0.3081 - 1e-5 and x.max() <= (1 - 0.1307) / 0.3081 + 1e-5"
expect_exit 0 "--augment none: MNIST train without its augmentations" cords-prep --augment none --shuffle-buffer 0 --batch 500 -o "$T/mn-none.tzst" "$T/mn.tzst"
cords-prep --split test --batch 500 -o "$T/mn-test.tzst" "$T/mn.tzst"
check "--augment none gives the test transform's bytes" sh -c "cords-cat -n x '$T/mn-none.tzst' > '$T/a.x' && cords-cat -n x '$T/mn-test.tzst' > '$T/b.x' && cmp -s '$T/a.x' '$T/b.x'"
expect_exit 0 "--augment flip" cords-prep --augment flip --shuffle-buffer 0 --batch 500 -o "$T/mn-flip.tzst" "$T/mn.tzst"
check "--augment flip: only hflip in the transforms" sh -c "cords-cat -m '$T/mn-flip.tzst' | grep -qx 'transforms=resize(28),hflip(0.5),normalize'"
check "--augment flip: each image is the original or its mirror, both occur" $PY -c "
import sys; sys.path.insert(0, '$T'); from load import load; import numpy as np
a, _, _ = load('$T/mn-flip.tzst'); b, _, _ = load('$T/mn-test.tzst')
same = (a == b).all(axis=(1, 2, 3)); mirror = (a == b[..., ::-1]).all(axis=(1, 2, 3))
assert (same | mirror).all() and 0.4 < (mirror & ~same).mean() < 0.6, (same.mean(), mirror.mean())"
expect_exit 2 "--augment with an unknown name" cords-prep --augment flip,warp "$T/mn.tzst"
cords-unpack --allow-partial -o "$T/c10.tzst" "$TESTDATA/data/cifar-10-binary.tar.gz"
expect_exit 0 "CIFAR-10 train recipe at 32" cords-prep --batch 8 -o "$T/c-p.tzst" "$T/c10.tzst"
check "CIFAR: x f32 [8,3,32,32], y f32 [8,10], RandAugment in the recipe" sh -c "cords-cat -l '$T/c-p.tzst' | grep -q '^x .*\[8,3,32,32\]' && \
	cords-cat -l '$T/c-p.tzst' | grep -q '^y .*f32 .*\[8,10\]' && cords-cat -m '$T/c-p.tzst' | grep -q 'randaugment(2,9)'"
expect_exit 0 "CIFAR-10 train at 64, 2 epochs" cords-prep --size 64 --epochs 2 --batch 8 -o "$T/c-64.tzst" "$T/c10.tzst"
check "6 batches (3 per epoch: 8 8 4)" test "$(cords-cat -l "$T/c-64.tzst" | grep -c '^x .*,3,64,64\]')" -eq 6

expect_exit 0 "--u8: test split before normalisation" cords-prep --u8 --batch 100 -o "$T/u8.tzst" "$T/test.tzst"
check "--u8 at native size is the samples themselves, normalisation in the metadata" sh -c \
	"[ \"\$($PY '$RS' '$T/u8.tzst' | awk '\$1==\"x\" {print \$2, \$6}')\" = \"\$($PY '$RS' '$T/test.tzst' | awk '\$1==\"x\" {print \$2, \$6}')\" ] && \
	cords-cat -m '$T/u8.tzst' | grep -qx normalized=no && cords-cat -m '$T/u8.tzst' | grep -qx norm_std=0.353"
expect_exit 1 "--u8 refuses MixUp/CutMix" cords-prep --u8 --dataset fashion-mnist --split train -o "$T/o.tzst" "$T/train.tzst"
err_has "says to add --no-mix" "no-mix"
