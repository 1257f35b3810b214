#!/bin/sh
# Builds with CUDA here (Debian, with every -dev package) and packs what
# bench/gpu.sh needs on a GPU machine that has CUDA, cuDNN and cuBLAS (in its
# torch venv) but none of our Debian libraries:
#   bin/ build/test/ build/bench/   the binaries
#   lib/                            the shared libraries they need (ldd), less
#                                   the C/C++ runtime and the CUDA libraries
# into one compressed tar (libdnnl alone is 40 MB; the carry limit is 64 MiB):
# .tar.xz by default, since the GPU machine has no zstd command and its
# python (3.12) no zstd module, while python's tarfile reads xz; .tar.zst
# when OUT says so (about 34 MB either way). Built in build/gpu-pack/ for any
# x86-64 with AVX2 (MARCH=-march=x86-64-v3), not for this CPU: the GPU
# machine's host may lack AVX-512 (oneDNN and OpenBLAS choose their kernels
# when they run).
#   bench/gpu-pack.sh [OUT]     (default build/gpu-prebuilt.tar.xz)
# then on the GPU machine: CORDS_PREBUILT=OUT bench/gpu.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=${1:-build/gpu-prebuilt.tar.xz}
case $out in /*) ;; *) out=$top/$out ;; esac
b=build/gpu-pack
units=$(for f in test/unit/*.c; do n=${f#test/unit/}; echo "$b/test/${n%.c}"; done)
make -j2 CUDA=1 BUILD=$b BIN=$b/bin MARCH=-march=x86-64-v3 all bench $units
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/build/test" "$tmp/build/bench" "$tmp/lib"
cp $b/bin/cords-* "$tmp/bin/"
cp $units "$tmp/build/test/"
cp $b/bench/* "$tmp/build/bench/"
# The libraries every binary loads, except what every Linux (libc, libm,
# libstdc++, libgcc, the loader) or the GPU machine (CUDA, cuDNN, cuBLAS) has.
skip='^(libc|libm|libdl|libpthread|librt|libresolv|libutil|libstdc\+\+|libgcc_s|ld-linux.*|linux-vdso|libcuda|libcudart|libcublas.*|libcudnn.*|libnvrtc.*|libnvJitLink)\.so'
for f in "$tmp"/bin/* "$tmp"/build/test/* "$tmp"/build/bench/*; do ldd "$f"; done |
	awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
	while read -r name path; do
		echo "$name" | grep -Eq "$skip" || cp -L "$path" "$tmp/lib/$name"
	done
git describe --always --dirty >"$tmp/COMMIT" 2>/dev/null || true
mkdir -p "$(dirname "$out")"
case $out in
*.tar.zst) tar -C "$tmp" -cf - . | zstd -q -T2 -12 -f -o "$out" ;;
*.tar.xz) tar -C "$tmp" -cf - . | xz -T2 -2 >"$out" ;;
*) echo "gpu-pack.sh: $out: expected a .tar.xz or .tar.zst name" >&2; exit 2 ;;
esac
echo "$out: $(du -h "$out" | cut -f1) ($(ls "$tmp/lib" | tr '\n' ' '))"
