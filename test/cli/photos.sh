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

# netCDF for xarray: two batches (4 + 2) concatenated along presentation.
cords-prep -q --size 16 --batch 4 -o "$T/b4.tzst" "$T/s.tzst"
cords-infer -q -m "$T/m.tzst" --spont 2 --stim 3 --every 1 --record 0,1 -o "$T/a4.tzst" "$T/b4.tzst"
expect_exit 0 "cords-cat --netcdf" cords-cat --netcdf "$T/a.nc" "$T/a4.tzst"
if have_python xarray && have_python netCDF4; then
	check "xarray opens it: stimulus in sorted order, time_ms, r0 and r1 of the right shape, the same values" \
		$PY - "$T/a.nc" "$T/a4.tzst" "$NAMES" <<'PYEOF'
import os, sys, numpy as np, xarray as xr
sys.path.insert(0, os.environ['TOP'] + '/test/cli')
from readstream import records
d = xr.open_dataset(sys.argv[1])
assert list(d.stimulus.values) == sys.argv[3].split(), d.stimulus.values
# steps 1..5 end at (t - spont) * alpha * tau = (t - 2) * 0.2 * 10 ms
assert np.allclose(d.time_ms.values, [-2.0, 0.0, 2.0, 4.0, 6.0], rtol=1e-12, atol=0), d.time_ms.values
assert d.r0.dims == ('time_bin', 'presentation', 'c0', 'y0', 'x0') and d.r0.shape[:2] == (5, 6), d.r0.dims
assert d.logits.dims == ('presentation', 'class') and d.logits_t.dims == ('time_bin', 'presentation', 'class')
assert 'time_ms' in d.r0.coords and 'stimulus' in d.r0.coords
assert d.attrs['alpha'] == '0.2' and d.attrs['Conventions'] == 'CF-1.8'
rec = {}
for n, t, s, b in records(sys.argv[2]):
    if t == 'f32':
        rec.setdefault(n, []).append(np.frombuffer(b, '<f4').reshape(s))
for n in ('logits', 'logits_t', 'r0', 'r1'):
    want = np.concatenate(rec[n], axis=0 if n == 'logits' else 1)
    assert np.array_equal(d[n].values, want), n
enc = d.r0.encoding
assert enc.get('zlib') or enc.get('compression'), enc
PYEOF
else
	skip "the netCDF file read back" "no python3-xarray / python3-netcdf4"
fi
expect_exit 2 "--netcdf to stdout refused" cords-cat --netcdf - "$T/a4.tzst"
expect_exit 1 "--netcdf of a batch stream (no logits)" cords-cat --netcdf "$T/x.nc" "$T/b4.tzst"
err_has "says to run cords-infer" "no logits: not an activity stream (run cords-infer first)"
check "and leaves no file" not test -e "$T/x.nc"
head -c $(($(stat -c %s "$T/a4.tzst") - 100)) "$T/a4.tzst" > "$T/cut.tzst"
expect_exit 1 "--netcdf of a truncated stream" cords-cat --netcdf "$T/x.nc" "$T/cut.tzst"
check "leaves nothing behind" sh -c "! ls '$T' | grep -q '^x.nc'"

# pipelines/own-images.mk: netCDF by default; a changed AREAS rebuilds.
BINDIR=$(dirname "$(command -v cords-cat)")
MK="make -s -f $TOP/pipelines/own-images.mk BIN=$BINDIR PHOTOS=$T/dir MODEL=$T/m.tzst SIZE=16 BATCH=4"
OPTS='INFER_OPTS=--spont 2 --stim 3'
expect_exit 0 "own-images.mk, areas 0,1" sh -c "cd '$T' && $MK AREAS=0,1 '$OPTS'"
check "writes activity.nc" test -s "$T/activity.nc"
if have_python xarray && have_python netCDF4; then
	vars() { $PY -c "import sys, xarray; d = xarray.open_dataset(sys.argv[1]); print(' '.join(sorted(v for v in d.data_vars if v[0] == 'r')), len(d.stimulus))" "$1"; }
	got=$(vars "$T/activity.nc")
	check "r0 r1 for the 6 photos (got: $got)" test "$got" = "r0 r1 6"
	expect_exit 0 "again with AREAS=1" sh -c "cd '$T' && $MK AREAS=1 '$OPTS'"
	got=$(vars "$T/activity.nc")
	check "rebuilt: only r1 now (got: $got)" test "$got" = "r1 6"
else
	skip "own-images.mk's output read back" "no python3-xarray / python3-netcdf4"
fi
expect_exit 0 "again, nothing changed" sh -c "cd '$T' && $MK AREAS=1 '$OPTS' >'$T/mk.out' 2>&1"
check "nothing rebuilt" test ! -s "$T/mk.out"
check "an empty folder fails" not sh -c "cd '$T' && $MK PHOTOS='$T/empty' OUT=e.nc AREAS=1 '$OPTS' 2>'$T/mk.err'"
check "saying there are no images" grep -q "cords-unpack: .*empty: no images" "$T/mk.err"
check "and writes no output" test ! -e "$T/e.nc"
