#!/bin/sh
# make bench-deps: the anchor the benchmarks measure against, PyTorch as a
# user gets it (`pip install torch torchvision` from PyPI), in a virtual
# environment outside the tree: BENCH_VENV (default /work/venv-torch).
# (scipy: its ARPACK with a torch product is bench/eig.sh's anchor for --converge.)
# Debian's python3-torch, where installed, is the benchmarks' second column.
# PyPI's torch wheel brings its CUDA libraries: about 5 GB on disk.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
V=${BENCH_VENV:-/work/venv-torch}
case "$(realpath -m "$V")/" in
"$top"/*) echo "bench-deps: $V is inside the source tree; set BENCH_VENV to a folder outside it" >&2; exit 2 ;;
esac
if "$V/bin/python" -c 'import torch, torchvision, numpy, scipy' 2>/dev/null; then
	echo "bench-deps: $V has torch $("$V/bin/python" -c 'import torch; print(torch.__version__)')"
	exit 0
fi
mkdir -p "$(dirname "$V")"
free=$(df -Pk "$(dirname "$V")" | awk 'NR == 2 { print int($4 / 1048576) }')
[ "$free" -ge 8 ] || { echo "bench-deps: $free GB free under $(dirname "$V"), torch needs about 6" >&2; exit 1; }
python3 -m venv "$V"
"$V/bin/pip" install --no-cache-dir --progress-bar off torch torchvision numpy scipy
echo "bench-deps: $V has torch $("$V/bin/python" -c 'import torch; print(torch.__version__)')"
