# One's own photos: a folder of images -> samples -> batches -> activity,
# in sorted order, with each image's name on it; wrong inputs refused.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
if ! have_python PIL; then
	skip "own photos" "no python3-pil to make the images"
	exit 0
fi
mkdir -p "$T/dir/sub" "$T/empty"
# Solid colours at 40x30; names in byte order: E_black a_green b_red c_blue noext sub/d_white
$PY - "$T/dir" <<'PYEOF'
import sys
from PIL import Image
d = sys.argv[1]
for n, c in {'b_red.png': (255, 0, 0), 'a_green.png': (0, 255, 0), 'c_blue.png': (0, 0, 255),
             'sub/d_white.png': (255, 255, 255), 'E_black.png': (0, 0, 0)}.items():
    Image.new('RGB', (40, 30), c).save(d + '/' + n)
Image.new('RGB', (40, 30), (128, 128, 128)).save(d + '/noext', 'JPEG', quality=100)
open(d + '/notes.txt', 'w').write('not an image\n')
open(d + '/.DS_Store', 'w').write('x')
PYEOF
NAMES='E_black.png a_green.png b_red.png c_blue.png noext sub/d_white.png '
names_of() { cords-cat -n names "$1" -o - | cords-cat -m | grep -v '^# ' | tr '\n' ' '; }
cords-init -q --classes 5 --in-channels 3 --size 16 -D 2 -o "$T/m.tzst"

expect_exit 0 "unpack a folder of photos" cords-unpack -v --dataset files -o "$T/s.tzst" "$T/dir"
err_has "the hidden file named" "ignored: .*/dir/.DS_Store: hidden file"
err_has "the text file named" "ignored: .*/dir/notes.txt: not an image"
err_has "both counted" "6 samples written, 0 skipped, 2 files ignored"
check "split test by default for files" sh -c "cords-cat -m '$T/s.tzst' | grep -qx split=test"
check "names in sorted order, relative to the folder, the JPEG without extension kept" \
	sh -c "[ \"\$(cords-cat -n names '$T/s.tzst' | cords-cat -m | grep -v '^# ' | tr '\n' ' ')\" = '$NAMES' ]"
expect_exit 0 "prep with the defaults" cords-prep --size 16 -o "$T/b.tzst" "$T/s.tzst"
check "batches: test transform, names kept in order" \
	sh -c "cords-cat -m '$T/b.tzst' | grep -q '^transforms=resize' && [ \"\$(cords-cat -n names '$T/b.tzst' | cords-cat -m | grep -v '^# ' | tr '\n' ' ')\" = '$NAMES' ]"
# Each image's input is its colour, normalised: the mean of each channel.
check "every image's input is its colour under the test transform" $PY - "$T/b.tzst" <<'PYEOF'
import os, sys, numpy as np
sys.path.insert(0, os.environ['TOP'] + '/test/cli')
from readstream import records
x = [np.frombuffer(d, '<f4').reshape(s) for n, t, s, d in records(sys.argv[1]) if n == 'x'][0]
mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
want = np.array([(0, 0, 0), (0, 255, 0), (255, 0, 0), (0, 0, 255), (128, 128, 128), (255, 255, 255)]) / 255
got = x.mean(axis=(2, 3)) * std + mean
assert np.all(np.abs(got - want) < 2 / 255), (got * 255).round()
PYEOF
expect_exit 0 "infer records area 0" cords-infer -m "$T/m.tzst" --spont 2 --stim 3 --record 0 -o "$T/a.tzst" "$T/b.tzst"
check "activity: the names before the logits" \
	sh -c "cords-cat -l '$T/a.tzst' | awk '{print \$1}' | tr '\n' ' ' | grep -q '^meta names logits r0 ' && [ \"\$(cords-cat -n names '$T/a.tzst' | cords-cat -m | grep -v '^# ' | tr '\n' ' ')\" = '$NAMES' ]"

expect_exit 1 "an empty folder" cords-unpack --dataset files -o "$T/e.tzst" "$T/empty"
err_has "says so" "empty: no images"
check "and writes nothing" not test -e "$T/e.tzst"
expect_exit 1 "a folder of no images" cords-unpack --dataset files -o "$T/e.tzst" "$T/dir/notes.txt"
expect_exit 1 "cords-infer on a sample stream" cords-infer -m "$T/m.tzst" -o "$T/o.tzst" "$T/s.tzst"
err_has "says to run cords-prep first" "s.tzst: a sample stream .*run cords-prep on it first"
expect_exit 1 "cords-infer on a model" cords-infer -m "$T/m.tzst" -o "$T/o.tzst" "$T/m.tzst"
err_has "says it is a model" "m.tzst: a model, not data"
cords-cat -n meta "$T/b.tzst" > "$T/nob.tzst"
expect_exit 1 "cords-infer on a stream without batches" cords-infer -m "$T/m.tzst" -o "$T/o.tzst" "$T/nob.tzst"
err_has "says so" "nob.tzst: no batches"
check "no output left" not test -e "$T/o.tzst"
