# cords-import, cords-export and cords-cat's NumPy options against real
# PyTorch and NumPy (Debian's /usr/bin/python3 with torch 1.13 and numpy).
. "$(dirname "$0")/lib.sh"
D=$TESTDATA/interop
PY=/usr/bin/python3

if ! have_python torch || ! have_python numpy; then
	# Installed here and in CI (scripts/deps.sh), where these tests always run;
	# test/unit/interop.c covers the readers without Python.
	echo "SKIP: $SCRIPT: needs $PY with torch and numpy (apt-get install python3-torch python3-numpy)"
	exit 0
fi

# npz_matches NPZ CRCFILE: every "name crc32" line matches the f32 bytes in NPZ
# (extra.* tensors are not model parameters: import leaves them out).
npz_matches() {
	$PY - "$1" "$2" <<'EOF'
import sys, zlib, numpy as np
z = np.load(sys.argv[1])
want = dict(l.split() for l in open(sys.argv[2]) if not l.startswith("extra."))
bad = [n for n, c in want.items() if n not in z.files or z[n].dtype != np.float32
       or "%08x" % zlib.crc32(z[n].astype("<f4").tobytes()) != c]
sys.exit(1 if bad or not want else 0)
EOF
}

# --- import every fixture format; values bit for bit -------------------------
for f in r2.pth r2_module.pth r2_view.pth r2.safetensors r2.npz; do
	crc=$D/$(echo "$f" | sed 's/^r2\.pth$/r2/; s/\.pth$//; s/\./_/')
	expect_exit 0 "import $f" cords-import -o "$T/$f.tzst" "$D/$f"
	cords-cat --npz "$T/$f.npz" "$T/$f.tzst"
	check "$f: every tensor bit for bit (f32)" npz_matches "$T/$f.npz" "$crc.crc"
done
cords-cat -m "$T/r2.pth.tzst" > "$T/meta.txt"
for kv in format=cords-model depth=2 in_channels=1 height=28 width=28 classes=10 stage=imported \
	phi=relu alpha=0.2 spont_steps=100 stim_steps=100 source=r2.pth; do
	check "meta has $kv" grep -qx "$kv" "$T/meta.txt"
done
n=$(cords-cat -l "$T/r2.pth.tzst" | wc -l)
check "meta + 17 parameters of R2" test "$n" -eq 18
check "parameters in cords-model(7) order" sh -c "cords-cat -l '$T/r2.pth.tzst' | sed -n '2p;18p' | awk '{print \$1}' | tr '\n' ' ' | grep -qx 'inp_conv.parametrizations.weight.original0 out_fc.bias '"
check "stdin works" sh -c "cords-import - < '$D/r2.pth' | cords-cat --check"
expect_exit 0 "--size 26x27" cords-import --size 26x27 -o "$T/s.tzst" "$D/r2.pth"
check "--size sets the input size" sh -c "cords-cat -m '$T/s.tzst' | tr '\n' ' ' | grep -q 'height=26 width=27'"
expect_exit 1 "--size that does not give the bias map" cords-import --size 64x28 -o "$T/s2.tzst" "$D/r2.pth"
err_has "mis-shaped conv_bias named" "conv_bias.0"

# --- bad inputs: exit 1, one line naming the file, no output left ------------
for f in bad/os_system.pth bad/builtins_eval.pth bad/subprocess_popen.pth bad/deep_nesting.pth \
	bad/many_marks.pth bad/huge_string.pth bad/huge_bytes8.pth bad/unknown_opcode.pth \
	bad/not_a_dict.pth bad/missing_storage.pth bad/legacy.pth bad/expand.pth bad/overlap.safetensors \
	bad/missing.safetensors bad/misshaped.safetensors bad/truncated.npz torch2.pth npy/f32.npy \
	bad/key_parent.pth bad/key_absolute.pth bad/huge_numel.pth bad/shape_overflow.pth \
	bad/negative_shape.pth bad/offset_past_end.pth bad/getattr.pth bad/import.pth; do
	expect_exit 1 "refuses $f" cords-import -o "$T/bad.tzst" "$D/$f"
	err_has "$f: message names the file" "^cords-import: $D/$f: "
	check "$f: one line" test "$(wc -l < "$T/.err")" -eq 1
	check "$f: no output left" sh -c "! ls '$T'/bad.tzst* 2>/dev/null"
done
expect_exit 1 "os.system" cords-import -o "$T/bad.tzst" "$D/bad/os_system.pth"
err_has "global named" "global os.system is not allowed"
expect_exit 1 "eval" cords-import -o "$T/bad.tzst" "$D/bad/builtins_eval.pth"
err_has "global named" "builtins.eval"
expect_exit 1 "Popen" cords-import -o "$T/bad.tzst" "$D/bad/subprocess_popen.pth"
err_has "global named" "subprocess.Popen"
expect_exit 1 "missing storage" cords-import -o "$T/bad.tzst" "$D/bad/missing_storage.pth"
err_has "record named" "archive/data/0 is missing"
expect_exit 1 "legacy" cords-import -o "$T/bad.tzst" "$D/bad/legacy.pth"
err_has "legacy format named" "legacy"
expect_exit 1 "missing tensor" cords-import -o "$T/bad.tzst" "$D/bad/missing.safetensors"
err_has "missing tensor named" "missing tensor inp_conv.parametrizations.weight.original0"
expect_exit 1 "mis-shaped tensor" cords-import -o "$T/bad.tzst" "$D/bad/misshaped.safetensors"
err_has "mis-shaped tensor named" "inp_conv.parametrizations.weight.original0 has shape \[64,1,1,2\]"
expect_exit 2 "no input is a usage error" cords-import
expect_exit 0 "--help" cords-import --help

# --- export: torch.load(weights_only=True) reads it bit for bit --------------
expect_exit 0 "export --pth" cords-export --pth "$T/out.pth" "$T/r2.pth.tzst"
check "torch.load(weights_only=True) gives the original state_dict bit for bit" $PY -c "
import sys, torch, collections
a = torch.load('$D/r2.pth'); b = torch.load('$T/out.pth', weights_only=True)
assert type(b) is collections.OrderedDict and list(a) == list(b)
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
    assert a[k].contiguous().view(torch.int32).equal(b[k].view(torch.int32)), k"
check "exported .pth: every record 64-byte aligned, CRCs right" $PY -c "
import struct, zipfile
f = open('$T/out.pth', 'rb').read(); z = zipfile.ZipFile('$T/out.pth')
assert z.testzip() is None and z.namelist()[0] == 'archive/data.pkl' and 'archive/version' in z.namelist()
for i in z.infolist():
    nl, xl = struct.unpack('<HH', f[i.header_offset + 26:i.header_offset + 30])
    assert (i.header_offset + 30 + nl + xl) % 64 == 0, i.filename"
check "exported .pth loads into a state_dict" $PY -c "
import torch
sd = torch.load('$T/out.pth', weights_only=True)
m = torch.nn.Module(); m.w = torch.nn.Parameter(torch.zeros(64, 1, 7, 7))
m.load_state_dict({'w': sd['inp_conv.parametrizations.weight.original1']})"
expect_exit 0 "export --safetensors" cords-export --safetensors "$T/out.safetensors" "$T/r2.pth.tzst"
expect_exit 0 "re-import the safetensors" cords-import -o "$T/back.tzst" "$T/out.safetensors"
cords-cat --npz "$T/back.npz" "$T/back.tzst"
check "safetensors round trip bit for bit" npz_matches "$T/back.npz" "$D/r2.crc"
check "meta kept in __metadata__" sh -c "head -c 2000 '$T/out.safetensors' | grep -q '\"stage\":\"imported\"'"
expect_exit 0 "export --npz" cords-export --npz "$T/out.npz" "$T/r2.pth.tzst"
check "numpy reads the exported .npz bit for bit, no meta" $PY -c "
import numpy as np, torch
z = np.load('$T/out.npz'); a = torch.load('$D/r2.pth')
assert 'meta' not in z.files and z.files == list(a)
assert all(np.array_equal(z[k].view(np.int32), a[k].numpy().view(np.int32)) for k in a)"
expect_exit 0 "re-import the exported npz" cords-import -o "$T/back2.tzst" "$T/out.npz"
cords-cat "$T/r2.pth.tzst" "$T/r2.pth.tzst" > "$T/dup.tzst"
expect_exit 1 "export refuses repeated names" cords-export --pth "$T/dup.pth" "$T/dup.tzst"
check "no .pth left behind" sh -c "! ls '$T'/dup.pth* 2>/dev/null"
expect_exit 2 "export needs a format" cords-export "$T/r2.pth.tzst"
cords-cat --from-npy "f=$D/npy/f32.npy" "d=$D/npy/fortran.npy" "s=$D/npy/scalar.npy" "b=$D/npy/bool.npy" \
	"u=$D/npy/u8.npy" "i=$D/npy/i64.npy" "e=$D/npy/empty.npy" > "$T/kinds.tzst"
expect_exit 0 "export dtypes and shapes to .pth" cords-export --pth "$T/kinds.pth" "$T/kinds.tzst"
check "torch.load reads f32 f64 0-d i64 bool u8 i64 and empty tensors" $PY -c "
import numpy as np, torch
sd = torch.load('$T/kinds.pth', weights_only=True)
for k, f in zip('fdsbuie', ['f32', 'fortran', 'scalar', 'bool', 'u8', 'i64', 'empty']):
    a = np.load('$D/npy/' + f + '.npy')
    assert sd[k].numpy().dtype == a.dtype and np.array_equal(sd[k].numpy(), a), k"

# --- cords-cat and NumPy ------------------------------------------------------
cords-cat --npz "$T/two.npz" "$T/r2.pth.tzst" "$T/r2.pth.tzst"
check "numpy.load reads cords-cat --npz; repeated names numbered; CRCs right" $PY -c "
import numpy as np, zipfile
assert zipfile.ZipFile('$T/two.npz').testzip() is None
z = np.load('$T/two.npz')
assert len(z.files) == 36 and 'meta.1' in z.files and 'out_fc.bias.1' in z.files
assert np.array_equal(z['out_fc.bias'], z['out_fc.bias.1'])
assert z['meta'].item().startswith(b'format=cords-model')"
expect_exit 0 "--npy-dir" cords-cat --npy-dir "$T/nd" "$T/r2.pth.tzst" "$T/r2.pth.tzst"
check "--npy-dir numbers x.npy, x.1.npy" test -f "$T/nd/conv_bias.1.1.npy"
check "numpy reads --npy-dir files" $PY -c "
import numpy as np
assert np.load('$T/nd/conv_bias.1.npy').shape == (64, 7, 7)"
for f in f32 i64 bool u8 scalar empty; do
	cords-cat --from-npy "a=$D/npy/$f.npy" | cords-cat --npy-dir "$T/rt_$f"
	check "$f.npy: --from-npy then --npy-dir gives numpy's bytes" cmp "$D/npy/$f.npy" "$T/rt_$f/a.npy"
done
cords-cat --from-npy "e=$D/npy/empty.npy" "s=$D/npy/scalar.npy" | cords-cat --npz "$T/e.npz"
check "numpy reads an .npz with an empty array (CRCs right)" $PY -c "
import numpy as np, zipfile
assert zipfile.ZipFile('$T/e.npz').testzip() is None
z = np.load('$T/e.npz'); assert z['e'].shape == (0, 3) and z['s'] == -7"
cords-cat --from-npy "f=$D/npy/fortran.npy" "v=$D/npy/v2.npy" | cords-cat --npz "$T/fo.npz"
check "Fortran order read as the same array" $PY -c "
import numpy as np
z = np.load('$T/fo.npz'); a = np.load('$D/npy/fortran.npy')
assert np.array_equal(z['f'], a) and z['f'].flags.c_contiguous and np.array_equal(z['v'], np.load('$D/npy/v2.npy'))"
expect_exit 1 "big-endian .npy refused" cords-cat --from-npy "b=$D/npy/big.npy" -o "$T/b.tzst"
err_has "says big-endian" "big-endian"
check "no stream left" sh -c "! ls '$T'/b.tzst* 2>/dev/null"
expect_exit 1 "odd dtype refused" cords-cat --from-npy "u=$D/npy/u4.npy" -o "$T/b.tzst"
err_has "names the dtype" "<u4"
expect_exit 2 "--from-npy without NAME=" cords-cat --from-npy "$D/npy/f32.npy" -o "$T/b.tzst"

# --- a torch-saved CordsNet-R8 with the 53 cords-model(7) names, bit for bit ----------
$PY - "$T/r8.pth" <<'EOF'
import sys, collections, torch
CH, SK, WN = [64, 64, 64, 128, 128, 256, 256, 512, 512], [64, 128, 256, 512], ".parametrizations.weight.original"
sizes, sd, g = [7, 7, 4, 4, 2, 2, 1, 1], collections.OrderedDict(), torch.Generator().manual_seed(8)
def add(n, *s): sd[n] = torch.randn(*s, generator=g)
add("inp_conv" + WN + "0", 64, 1, 1, 1); add("inp_conv" + WN + "1", 64, 1, 7, 7)
add("inp_skip" + WN + "0", 64, 1, 1, 1); add("inp_skip" + WN + "1", 64, 64, 3, 3)
for i in range(8):
    c = CH[i + 1]
    add(f"area_conv.{i}" + WN + "0", c, 1, 1, 1); add(f"area_conv.{i}" + WN + "1", c, c, 3, 3)
    add(f"conv_bias.{i}", c, sizes[i], sizes[i])
    add(f"area_area.{i}" + WN + "0", c, 1, 1, 1); add(f"area_area.{i}" + WN + "1", c, CH[i], 3, 3)
for k in range(3):
    add(f"skip_area.{k}" + WN + "0", SK[k + 1], 1, 1, 1); add(f"skip_area.{k}" + WN + "1", SK[k + 1], SK[k], 1, 1)
add("out_fc" + WN + "0", 10, 1); add("out_fc" + WN + "1", 10, 512); add("out_fc.bias", 10)
assert len(sd) == 53
torch.save(sd, sys.argv[1])
EOF
expect_exit 0 "import a torch-saved R8" cords-import -o "$T/r8.tzst" "$T/r8.pth"
cords-cat --npz "$T/r8.npz" "$T/r8.tzst"
check "R8: all 53 tensors bit-identical, cords-model(7) order" $PY -c "
import numpy as np, torch
a = torch.load('$T/r8.pth'); z = np.load('$T/r8.npz')
assert z.files[1:] == list(a) and len(a) == 53, z.files
assert all(np.array_equal(z[k].view(np.int32), a[k].numpy().view(np.int32)) for k in a)"
check "R8 meta says depth 8, 28x28, 10 classes" sh -c "cords-cat -m '$T/r8.tzst' | tr '\n' ' ' | grep -q 'depth=8 in_channels=1 height=28 width=28 classes=10'"
rm -f "$T/r8.pth" "$T/r8.npz" "$T/r8.tzst"
