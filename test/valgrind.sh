#!/bin/sh
# A small pipeline under valgrind (memcheck): unpack 8 Fashion-MNIST test
# images (a cut of the real IDX files, or of testdata when the dataset is not
# installed) -> prep (12 x 12, the test recipe) -> infer with the tiny
# testdata/train model -> cat --npz. Each tool runs with
# --error-exitcode=1 --leak-check=full; prints "valgrind: clean" or names the
# unclean steps and exits 1. Not part of make check (about a minute).
# Usage: sh test/valgrind.sh [BIN]   (BIN: the tools, default bin/)
# Valgrind (3.19) cannot run AVX-512 code, which -march=native emits on such
# CPUs (SIGILL): there, build the tools for AVX2 first and pass them:
#   make BUILD=build-vg BIN=build-vg/bin MARCH=-march=x86-64-v3 CUDA=0
#   sh test/valgrind.sh build-vg/bin
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$top/bin}
SUPP=$top/test/valgrind.supp
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1
command -v valgrind >/dev/null || { echo "valgrind: not installed, skipped"; exit 0; }

# 8 images and labels as IDX files named as the dataset's
/usr/bin/python3 - "$T" <<'PYEOF' || exit 1
import gzip, os, struct, sys
src = '/usr/share/datasets/fashion-mnist'
out = sys.argv[1]
for kind, rec in (('images-idx3', 784), ('labels-idx1', 1)):
    name = 't10k-%s-ubyte' % kind
    p = os.path.join(src, name + '.gz')
    if os.path.exists(p):
        b = gzip.open(p).read()
        nd = b[3]
        head = bytearray(b[:4 + 4 * nd])
        head[4:8] = struct.pack('>I', 8)
        body = b[4 + 4 * nd:4 + 4 * nd + 8 * rec]
    else:  # synthetic stand-in
        nd = 3 if rec == 784 else 1
        head = bytes([0, 0, 8, nd]) + struct.pack('>I', 8) + (struct.pack('>II', 28, 28) if nd == 3 else b'')
        body = bytes((i * 7) % 256 for i in range(8 * rec)) if rec == 784 else bytes(range(8))
    with gzip.open(os.path.join(out, name + '.gz'), 'wb') as f:
        f.write(bytes(head) + body)
PYEOF

bad=
vg() { # step name, then the command
	step=$1; shift
	if valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--suppressions="$SUPP" --log-file="$T/$step.vg" "$@"; then
		echo "valgrind: $step clean"
	else
		echo "valgrind: $step UNCLEAN"; sed 's/^/    /' "$T/$step.vg" | head -40
		bad="$bad $step"
	fi
}
vg unpack "$BIN/cords-unpack" --allow-partial --split test --dataset fashion-mnist -o "$T/s.tzst" "$T"
vg prep "$BIN/cords-prep" --size 12 --batch 4 -o "$T/b.tzst" "$T/s.tzst"
vg infer "$BIN/cords-infer" -m "$top/testdata/train/params.tzst" -o "$T/o.tzst" "$T/b.tzst"
vg cat "$BIN/cords-cat" --npz "$T/o.npz" "$T/o.tzst"
[ -s "$T/o.npz" ] || bad="$bad (no output)"
if [ -n "$bad" ]; then
	echo "valgrind: unclean:$bad"
	exit 1
fi
echo "valgrind: clean"
