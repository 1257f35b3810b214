# cords-unpack: Fashion-MNIST against an independent reader, IDX errors,
# counts, --allow-partial, --skip-bad, shards.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
FM=/usr/share/datasets/fashion-mnist
RS="$(dirname "$0")/readstream.py"

# x and y hashes of the IDX files, read with gzip + numpy, in the form readstream.py prints.
idx_digest() { # images labels
	$PY - "$1" "$2" <<'PYEOF'
import gzip, hashlib, sys, numpy as np
op = lambda p: gzip.open(p) if p.endswith('.gz') else open(p, 'rb')
x = np.frombuffer(op(sys.argv[1]).read(), np.uint8, offset=16)
y = np.frombuffer(op(sys.argv[2]).read(), np.uint8, offset=8).astype('<i8')
print('x', len(y), x.size, hashlib.sha256(x.tobytes()).hexdigest())
print('y', len(y), y.nbytes, hashlib.sha256(y.tobytes()).hexdigest())
PYEOF
}
stream_digest() { $PY "$RS" "$1" | awk '$1=="x"||$1=="y" {print $1, $4, $5, $6}'; }

if [ -d "$FM" ] && have_python numpy; then
	for split in test train; do
		pre=$([ $split = test ] && echo t10k || echo train)
		expect_exit 0 "unpack Fashion-MNIST $split" cords-unpack --split $split -o "$T/fm-$split.tzst" "$FM"
		idx_digest "$FM/$pre-images-idx3-ubyte.gz" "$FM/$pre-labels-idx1-ubyte.gz" > "$T/want"
		stream_digest "$T/fm-$split.tzst" > "$T/got"
		check "$split: counts and pixel/label checksums match numpy" cmp "$T/want" "$T/got"
	done
	cords-cat -m "$T/fm-test.tzst" > "$T/meta"
	check "meta names the dataset (recognised from the path)" grep -qx 'dataset=fashion-mnist' "$T/meta"
	check "meta has the class names" grep -q '^class_names=T-shirt/top,Trouser,.*,Ankle boot$' "$T/meta"
	check "meta has the count" grep -qx 'count=10000' "$T/meta"
	check "meta has norm_mean / norm_std" sh -c "grep -qx 'norm_mean=0.286' '$T/meta' && grep -qx 'norm_std=0.353' '$T/meta'"
	check "meta comes first" sh -c "$PY '$RS' '$T/fm-test.tzst' | head -1 | grep -q '^meta '"
	check "default batch 256: x u8 [256,1,28,28]" sh -c "cords-cat -l '$T/fm-test.tzst' | grep '^x ' | head -n 1 | grep -q '^x  *u8  *\[256,1,28,28\]'"
	expect_exit 0 "--batch 1000 and the two files named" cords-unpack --batch 1000 --split test -o "$T/b.tzst" \
		"$FM/t10k-images-idx3-ubyte.gz" "$FM/t10k-labels-idx1-ubyte.gz"
	check "10 x records of 1000" test "$(cords-cat -l "$T/b.tzst" | grep -c '^x .*\[1000,1,28,28\]')" -eq 10
	check "same samples whatever the batch" sh -c "stream_digest() { $PY '$RS' \"\$1\" | awk '\$1==\"x\"||\$1==\"y\" {print \$1, \$4, \$5, \$6}'; }; \
		[ \"\$(stream_digest '$T/b.tzst')\" = \"\$(stream_digest '$T/fm-test.tzst')\" ]"
	expect_exit 0 "shards" cords-unpack --split test --shard-size 3000 -o "$T/sh" "$FM"
	check "4 shards" test "$(ls "$T"/sh-0000?.tzst | wc -l)" -eq 4
	check "shards concatenate to the whole" sh -c "cat '$T'/sh-0000?.tzst | cords-cat -n x -n y > '$T/shcat.tzst' && \
		[ \"\$($PY '$RS' '$T/shcat.tzst' | awk '\$1==\"x\" {print \$6}')\" = \"\$($PY '$RS' '$T/fm-test.tzst' | awk '\$1==\"x\" {print \$6}')\" ]"
	check "last shard holds 1000" sh -c "cords-cat -l '$T/sh-00003.tzst' | grep -q '^y .*\[232\]'"
else
	skip "Fashion-MNIST unpacked against numpy" "needs $FM and numpy"
fi

# Small IDX files made here: 5 images of 28x28, labels 0..4 (one bad label on request).
mkidx() { # dir count [badlabel] [magic]
	mkdir -p "$1"
	$PY - "$1" "$2" "${3:-}" "${4:-2051}" <<'PYEOF'
import gzip, struct, sys
d, n, bad, magic = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
lab = bytes(i % 10 for i in range(n))
if bad:
    lab = lab[:2] + bytes([int(bad)]) + lab[3:]
img = bytes((i * 7) % 256 for i in range(n * 784))
gzip.open(d + '/train-images-idx3-ubyte.gz', 'wb').write(struct.pack('>IIII', magic, n, 28, 28) + img)
open(d + '/train-labels-idx1-ubyte', 'wb').write(struct.pack('>II', 2049, n) + lab)
PYEOF
}
if have_python numpy; then
	mkidx "$T/small" 5
	expect_exit 1 "a count other than 60000 is an error" cords-unpack --dataset mnist "$T/small"
	err_has "says the count" "5 samples, expected 60000"
	expect_exit 0 "--allow-partial accepts it (raw labels file, gz images)" cords-unpack --dataset mnist --allow-partial -o "$T/s.tzst" "$T/small"
	check "5 samples" sh -c "cords-cat -l '$T/s.tzst' | grep -q '^y .*\[5\]'"
	check "count from the file in meta" sh -c "cords-cat -m '$T/s.tzst' | grep -qx count=5"
	expect_exit 1 "not recognised without --dataset" cords-unpack --allow-partial "$T/s.tzst"
	err_has "asks for --dataset" "dataset"
	check "recognised as mnist from the names" sh -c "cords-unpack --allow-partial '$T/small' | cords-cat -m | grep -qx dataset=mnist"
	mkidx "$T/badlab" 5 12
	expect_exit 1 "label out of range" cords-unpack --dataset mnist --allow-partial -o "$T/x.tzst" "$T/badlab"
	err_has "names the file and the item" "train-labels-idx1-ubyte: item 2: label 12 outside 0..9"
	check "no output left behind" sh -c "! ls '$T'/x.tzst* 2>/dev/null"
	expect_exit 0 "--skip-bad skips it" cords-unpack --dataset mnist --allow-partial --skip-bad -o "$T/k.tzst" "$T/badlab"
	err_has "the skip is reported" "skipped: .*item 2"
	err_has "and counted in the summary" "4 samples written, 1 skipped"
	check "4 samples kept" sh -c "cords-cat -l '$T/k.tzst' | grep -q '^y .*\[4\]'"
	mkidx "$T/magic" 5 "" 2049
	expect_exit 1 "wrong IDX magic" cords-unpack --dataset mnist --allow-partial "$T/magic"
	err_has "names the file and the problem" "train-images-idx3-ubyte.gz: trailing bytes"
	printf 'PK\003\004xxxxxxxx' > "$T/magic/train-images-idx3-ubyte"
	rm "$T/magic/train-images-idx3-ubyte.gz"
	expect_exit 1 "not an IDX file" cords-unpack --dataset mnist --allow-partial "$T/magic"
	err_has "says so" "train-images-idx3-ubyte: not an IDX file"
	mkidx "$T/trunc" 5
	gzip -dc "$T/trunc/train-images-idx3-ubyte.gz" | head -c 2000 | gzip > "$T/trunc/t.gz"
	mv "$T/trunc/t.gz" "$T/trunc/train-images-idx3-ubyte.gz"
	expect_exit 1 "truncated IDX data" cords-unpack --dataset mnist --allow-partial "$T/trunc"
	err_has "says truncated" "truncated: 1984 of 3920"
	head -c 300 "$T/small/train-images-idx3-ubyte.gz" > "$T/trunc/train-images-idx3-ubyte.gz"
	expect_exit 1 "truncated gzip" cords-unpack --dataset mnist --allow-partial "$T/trunc"
	err_has "names the file" "train-images-idx3-ubyte.gz: "
else
	skip "small IDX files" "no numpy to write them"
fi
expect_exit 1 "missing source" cords-unpack --dataset mnist "$T/nope"
expect_exit 1 "no test files in a train-only directory" cords-unpack --dataset mnist --split test "$T/small"
err_has "says what is missing" "t10k-images-idx3-ubyte"
expect_exit 2 "bad split" cords-unpack --split val "$T/small"
expect_exit 2 "no source" cords-unpack
expect_exit 2 "--shard-size needs -o" cords-unpack --shard-size 10 "$T/small"
expect_exit 0 "--help" cords-unpack --help

# CIFAR binary tarballs (fixtures from testdata/data/gen.py), against Python's tarfile.
D=$TESTDATA/data
cifar_digest() { # tarball, then member names in order; record size
	$PY - "$@" <<'PYEOF'
import hashlib, sys, tarfile, numpy as np
tb, rec, lab, members = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
t = tarfile.open(tb)
by = {m.name.split('/')[-1]: m for m in t.getmembers()}
raw = b''.join(t.extractfile(by[m]).read() for m in members)
a = np.frombuffer(raw, np.uint8).reshape(-1, rec)
x, y = a[:, rec - 3072:], a[:, lab].astype('<i8')
print('x', len(y), x.size, hashlib.sha256(x.tobytes()).hexdigest())
print('y', len(y), y.nbytes, hashlib.sha256(y.tobytes()).hexdigest())
PYEOF
}
if have_python numpy; then
	expect_exit 1 "CIFAR-10 fixture: count checked" cords-unpack "$D/cifar-10-binary.tar.gz"
	err_has "says the count" "20 samples, expected 50000 for cifar10 train"
	expect_exit 0 "CIFAR-10 train (recognised from the name)" cords-unpack --allow-partial -o "$T/c10.tzst" "$D/cifar-10-binary.tar.gz"
	cifar_digest "$D/cifar-10-binary.tar.gz" 3073 0 data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin > "$T/want"
	stream_digest "$T/c10.tzst" > "$T/got"
	check "CIFAR-10 train: batches 1..5 in order, pixels and labels as Python reads them" cmp "$T/want" "$T/got"
	check "CIFAR-10: x u8 [20,3,32,32]" sh -c "cords-cat -l '$T/c10.tzst' | grep -q '^x .*\[20,3,32,32\]'"
	check "CIFAR-10: class names from batches.meta.txt" sh -c "cords-cat -m '$T/c10.tzst' | grep -qx 'class_names=airplane,automobile,bird,cat,deer,dog,frog,horse,ship,truck'"
	check "partial: no count in meta" sh -c "! cords-cat -m '$T/c10.tzst' | grep -q '^count='"
	cords-unpack --allow-partial --split test -o "$T/c10t.tzst" "$D/cifar-10-binary.tar.gz"
	cifar_digest "$D/cifar-10-binary.tar.gz" 3073 0 test_batch.bin > "$T/want"
	stream_digest "$T/c10t.tzst" > "$T/got"
	check "CIFAR-10 test batch" cmp "$T/want" "$T/got"
	cords-unpack --allow-partial -o "$T/c100.tzst" "$D/cifar-100-binary.tar.gz"
	cifar_digest "$D/cifar-100-binary.tar.gz" 3074 1 train.bin > "$T/want"
	stream_digest "$T/c100.tzst" > "$T/got"
	check "CIFAR-100 train: fine labels" cmp "$T/want" "$T/got"
	check "CIFAR-100: 100 fine class names" sh -c "cords-cat -m '$T/c100.tzst' | grep -q '^class_names=apple,aquarium_fish,class02,.*,class99$'"
	cords-unpack --allow-partial --coarse --split test -o "$T/c100c.tzst" "$D/cifar-100-binary.tar.gz"
	cifar_digest "$D/cifar-100-binary.tar.gz" 3074 0 test.bin > "$T/want"
	stream_digest "$T/c100c.tzst" > "$T/got"
	check "CIFAR-100 --coarse: superclass labels" cmp "$T/want" "$T/got"
	check "CIFAR-100 --coarse: 20 classes and their names" sh -c "cords-cat -m '$T/c100c.tzst' | grep -qx classes=20 && cords-cat -m '$T/c100c.tzst' | grep -q '^class_names=aquatic_mammals,fish,super02'"
	expect_exit 2 "--coarse only for cifar100" cords-unpack --coarse --allow-partial "$D/cifar-10-binary.tar.gz"
	head -c 40000 "$D/cifar-10-binary.tar.gz" > "$T/cifar-10-binary.tar.gz"
	expect_exit 1 "truncated CIFAR tarball" cords-unpack --allow-partial -o "$T/o.tzst" "$T/cifar-10-binary.tar.gz"
	err_has "names the archive" "cifar-10-binary.tar.gz: "
	$PY - "$T/bad/cifar-10-binary.tar.gz" <<'PYEOF'
import io, os, sys, tarfile
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
with tarfile.open(sys.argv[1], 'w:gz') as t:
    for name, data in (('batches.meta.txt', b'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n'),
                       ('test_batch.bin', bytes([3]) + bytes(3072) + bytes([11]) + bytes(3072) + bytes([1]) + bytes(100))):
        ti = tarfile.TarInfo('cifar-10-batches-bin/' + name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
PYEOF
	expect_exit 1 "CIFAR label out of range" cords-unpack --allow-partial --split test "$T/bad/cifar-10-binary.tar.gz"
	err_has "names member and item" "test_batch.bin: item 1: label 11 outside 0..9"
	expect_exit 1 "CIFAR truncated record" cords-unpack --allow-partial --skip-bad --split test -o "$T/o.tzst" "$T/bad/cifar-10-binary.tar.gz"
	err_has "says truncated record" "test_batch.bin: truncated record (101 of 3073 bytes)"
else
	skip "CIFAR tarballs against Python's tarfile" "no numpy"
fi

# CIFAR python tarballs (pickles through the whitelist unpickler): the same
# samples as the binary fixtures they were made from.
if [ -f "$D/cifar-10-python.tar.gz" ]; then
	expect_exit 0 "CIFAR-10 python tarball (recognised from the name)" cords-unpack --allow-partial -o "$T/p10.tzst" "$D/cifar-10-python.tar.gz"
	check "same samples as the binary tarball" sh -c "[ \"\$($PY '$RS' '$T/p10.tzst' | grep -v '^meta')\" = \"\$($PY '$RS' '$T/c10.tzst' | grep -v '^meta')\" ]"
	check "same class names" sh -c "[ \"\$(cords-cat -m '$T/p10.tzst' | grep class_names)\" = \"\$(cords-cat -m '$T/c10.tzst' | grep class_names)\" ]"
	cords-unpack --allow-partial --coarse --split test -o "$T/p100c.tzst" "$D/cifar-100-python.tar.gz"
	check "CIFAR-100 python --coarse = binary --coarse" sh -c "[ \"\$($PY '$RS' '$T/p100c.tzst')\" = \"\$($PY '$RS' '$T/c100c.tzst')\" ]"
	cords-unpack --allow-partial -o "$T/p100.tzst" "$D/cifar-100-python.tar.gz"
	check "CIFAR-100 python fine = binary fine" sh -c "[ \"\$($PY '$RS' '$T/p100.tzst')\" = \"\$($PY '$RS' '$T/c100.tzst')\" ]"
	mkdir -p "$T/evil"
	$PY - "$T/evil/cifar-10-python.tar.gz" <<'PYEOF'
import io, sys, tarfile
evil = b'cos\nsystem\n(S"echo hacked"\ntR.'  # os.system("echo hacked") when unpickled by Python
with tarfile.open(sys.argv[1], 'w:gz') as t:
    for name in ('batches.meta', 'test_batch'):
        ti = tarfile.TarInfo('cifar-10-batches-py/' + name)
        ti.size = len(evil)
        t.addfile(ti, io.BytesIO(evil))
PYEOF
	expect_exit 1 "a pickle calling os.system is refused" cords-unpack --allow-partial --split test -o "$T/o.tzst" "$T/evil/cifar-10-python.tar.gz"
	err_has "names the archive and the global" "cifar-10-python.tar.gz: batches.meta: .*os"
else
	skip "CIFAR python tarballs" "no $D/cifar-10-python.tar.gz"
fi
