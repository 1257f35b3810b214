# Images: ImageFolder and file lists through cords-unpack, the ImageNet test
# transform of cords-prep against torchvision on the same files (grayscale,
# CMYK, PNG named .JPEG, palette PNG ...), bad images.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
D=$TESTDATA/data

expect_exit 0 "unpack an ImageFolder tree" cords-unpack --dataset folder --split test -o "$T/f.tzst" "$D/folder"
check "classes from the sub-directories" sh -c "cords-cat -m '$T/f.tzst' | grep -qx 'class_names=n01,n02' && cords-cat -m '$T/f.tzst' | grep -qx classes=2"
check "7 images in ImageFolder order, records named by content" sh -c \
	"cords-cat -l '$T/f.tzst' | awk '\$1!=\"y\" && \$1!=\"meta\" && \$1!=\"names\" {print \$1}' | tr '\n' ' ' | grep -qx 'jpeg png jpeg png jpeg png png '"
check "labels 0 0 0 1 1 1 1" sh -c "cords-cat -l '$T/f.tzst' | awk '\$1==\"y\" {printf \"%s \", \$4}' | grep -qx '0 0 0 1 1 1 1 '"
check "original bytes kept" sh -c "cords-cat -l '$T/f.tzst' | grep -v '^names ' | sed -n 2p | grep -q \"\\[$(stat -c %s "$D/folder/n01/a.jpg")\\]\""

if have_python torchvision; then
	# Every pixel of every channel within 1/255 of torchvision's, before
	# normalisation (Debian's Pillow and libjpeg-turbo give the same bytes:
	# the margin is for another libjpeg's IDCT).
	tv_compare() { # stream, size, resize, files...
		$PY - "$@" <<'PYEOF'
import os, sys, numpy as np, torchvision.transforms as T
from PIL import Image
sys.path.insert(0, os.environ['TOP'] + '/test/cli')
from readstream import records
from worst import check
path, size, resize, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
tf = T.Compose([T.Resize(resize), T.CenterCrop(size), T.ToTensor(),
                T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
x = np.concatenate([np.frombuffer(d, '<f4').reshape(s) for n, t, s, d in records(path) if n == 'x'])
assert x.shape == (len(files), 3, size, size), x.shape
std = np.array([0.229, 0.224, 0.225])[:, None, None]
for i, f in enumerate(files):
    ref = tf(Image.open(f).convert('RGB')).numpy()
    check(x[i] * std, ref * std, abs=1.001 / 255, what=f)
PYEOF
	}
	expect_exit 0 "ImageNet test transform at 224" cords-prep --dataset imagenet -o "$T/p.tzst" "$T/f.tzst"
	check "matches torchvision (Resize 256, CenterCrop 224) within 1/255 on every pixel of every kind" tv_compare "$T/p.tzst" 224 256 \
		"$D/folder/n01/a.jpg" "$D/folder/n01/b.png" "$D/folder/n01/sub/c.jpg" "$D/folder/n02/d.JPEG" \
		"$D/folder/n02/e.jpg" "$D/folder/n02/f.png" "$D/folder/n02/g.png"
	cords-unpack -o "$T/ph.tzst" "$D/photos/china.jpg" "$D/photos/flower_tall.jpg"
	check "photos: recognised as files, label -1" sh -c "cords-cat -m '$T/ph.tzst' | grep -qx dataset=files && cords-cat -l '$T/ph.tzst' | grep -q '^y .* -1 '"
	expect_exit 0 "photos: test transform at 224 (dataset and split from the metadata)" cords-prep --split test -o "$T/pp.tzst" "$T/ph.tzst"
	check "real photos (wide and tall) within 1/255 of torchvision" tv_compare "$T/pp.tzst" 224 256 "$D/photos/china.jpg" "$D/photos/flower_tall.jpg"
	expect_exit 0 "photos at size 64 (resize 73, crop 64)" cords-prep --split test --size 64 -o "$T/p64.tzst" "$T/ph.tzst"
	check "downscaled photos within 1/255 of torchvision" tv_compare "$T/p64.tzst" 64 73 "$D/photos/china.jpg" "$D/photos/flower_tall.jpg"
else
	skip "the ImageNet test transform against torchvision" "no torchvision"
fi

expect_exit 1 "corrupt JPEG" cords-unpack --dataset files -o "$T/o.tzst" "$D/photos/china.jpg" "$D/bad/corrupt.jpg"
err_has "names the file" "bad/corrupt.jpg: corrupt JPEG"
expect_exit 1 "truncated JPEG" cords-unpack --dataset files -o "$T/o.tzst" "$D/bad/truncated.jpg"
err_has "says truncated" "bad/truncated.jpg: truncated JPEG"
expect_exit 1 "not an image" cords-unpack --dataset files -o "$T/o.tzst" "$D/bad/text.jpg"
err_has "says what it is not" "text.jpg: neither JPEG nor PNG"
expect_exit 0 "--skip-bad skips all three" cords-unpack --dataset files --skip-bad -o "$T/o.tzst" "$D/photos/china.jpg" "$D/bad"
err_has "and counts them" "1 samples written, 3 skipped"
check "the good one is kept" sh -c "cords-cat -l '$T/o.tzst' | grep -c '^jpeg ' | grep -qx 1"
# A corrupt image that reaches cords-prep (stored bytes damaged after unpacking).
$PY - "$T/dam.tzst" "$D/bad/truncated.jpg" <<'PYEOF'
import struct, subprocess, sys
def rec(name, dt, shape, data):
    h = b'CRD1' + struct.pack('<BBH', dt, len(shape), len(name)) + b''.join(struct.pack('<Q', s) for s in shape)
    return subprocess.run(['zstd', '-q', '-c', '--content-size', '-C'], input=h + name.encode() + data,
                          capture_output=True, check=True).stdout
j = open(sys.argv[2], 'rb').read()
open(sys.argv[1], 'wb').write(rec('jpeg', 5, (len(j),), j) + rec('y', 9, (1,), struct.pack('<q', -1)))
PYEOF
expect_exit 1 "cords-prep: a damaged JPEG" cords-prep --dataset files --split test -o "$T/o.tzst" "$T/dam.tzst"
err_has "names the stream and the sample" "dam.tzst: sample 0: truncated JPEG"

# ImageNet in miniature (testdata/data/gen.py): tar of tars, val tar + devkit.
I=$D/imagenet
expect_exit 1 "ImageNet train: count checked" cords-unpack -o "$T/o.tzst" "$I/ILSVRC2012_img_train.tar"
err_has "says the count" "6 samples, expected 1281167 for imagenet train"
expect_exit 0 "ImageNet train tar of tars (recognised from the name)" cords-unpack --allow-partial -o "$T/in.tzst" "$I/ILSVRC2012_img_train.tar"
check "classes = sorted WNIDs of the inner tars" sh -c "cords-cat -m '$T/in.tzst' | grep -qx 'class_names=n01440764,n01443537,n02105855'"
check "labels by WNID rank, in archive order" sh -c "cords-cat -l '$T/in.tzst' | awk '\$1==\"y\" {printf \"%s \", \$4}' | grep -qx '2 2 0 0 1 1 '"
check "the PNG named .JPEG is stored as png" sh -c "cords-cat -l '$T/in.tzst' | grep -v '^names ' | sed -n 4p | grep -q '^png '"
check "bytes are the inner members' own" $PY -c "
import io, sys, tarfile; sys.path.insert(0, '$TOP/test/cli'); from readstream import records
outer = tarfile.open('$I/ILSVRC2012_img_train.tar')
want = [tarfile.open(fileobj=io.BytesIO(outer.extractfile(m).read())) for m in outer.getmembers()]
want = [t.extractfile(m).read() for t in want for m in t.getmembers()]
got = [d for n, t, s, d in records('$T/in.tzst') if n in ('jpeg', 'png')]
assert got == want"
expect_exit 0 "ImageNet val + devkit: test split from the name" cords-unpack --allow-partial -o "$T/iv.tzst" "$I/ILSVRC2012_img_val.tar" "$I/ILSVRC2012_devkit_t12.tar.gz"
check "val labels from the number in the name via meta.mat (order 3 1 4 2 -> 0 2 2 1)" sh -c \
	"cords-cat -l '$T/iv.tzst' | awk '\$1==\"y\" {printf \"%s \", \$4}' | grep -qx '0 2 2 1 ' && cords-cat -m '$T/iv.tzst' | grep -qx split=test"
check "val classes are the devkit's leaves, sorted" sh -c "cords-cat -m '$T/iv.tzst' | grep -qx 'class_names=n01440764,n01443537,n02105855'"
expect_exit 1 "val without the devkit" cords-unpack --allow-partial -o "$T/o.tzst" "$I/ILSVRC2012_img_val.tar"
err_has "says what is needed" "devkit"
head -c 15000 "$I/ILSVRC2012_img_train.tar" > "$T/ILSVRC2012_img_train.tar"
expect_exit 1 "truncated ImageNet train tar" cords-unpack --allow-partial -o "$T/o.tzst" "$T/ILSVRC2012_img_train.tar"
err_has "names the archive" "ILSVRC2012_img_train.tar: "
expect_exit 0 "ImageNet train recipe (random-resized crop, flip, RandAugment) at 48" cords-prep --size 48 --batch 4 -o "$T/ip.tzst" "$T/in.tzst"
check "x f32 [4,3,48,48], y i64" sh -c "cords-cat -l '$T/ip.tzst' | grep -q '^x .*\[4,3,48,48\]' && cords-cat -l '$T/ip.tzst' | grep -q '^y  *i64'"

# A photo large enough for DCT-domain downscaling (1/2 at 1200x800 for a 256 resize).
if have_python torchvision; then
	$PY -c "
from PIL import Image
Image.open('$D/photos/china.jpg').resize((1200, 802), Image.BICUBIC).save('$T/large.jpg', quality=92)"
	cords-unpack -o "$T/large.tzst" "$T/large.jpg"
	expect_exit 0 "large photo: test transform" cords-prep --split test -o "$T/lp.tzst" "$T/large.tzst"
	check "DCT-scaled decode stays within 1/255 of torchvision" tv_compare "$T/lp.tzst" 224 256 "$T/large.jpg"
else
	skip "a large photo's DCT-scaled decode against torchvision" "no torchvision"
fi
if [ -f "$T/pp.tzst" ]; then
	check "unlabelled photos: batches carry x only" sh -c "! cords-cat -l '$T/pp.tzst' | grep -q '^y '"
else
	skip "unlabelled photos: batches carry x only" "no torchvision (the stream is made above)"
fi
