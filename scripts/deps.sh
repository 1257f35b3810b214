#!/bin/sh
# Installs the Debian packages that cords needs to build and test (as root),
# or prints the apt-get line to run (otherwise). The CUDA toolkit, cuDNN and
# NCCL are not Debian packages here: the CUDA backend is built when nvcc is found.
set -e
PKGS="build-essential pkg-config zstd libzstd-dev libarchive-dev libjpeg62-turbo-dev
libpng-dev zlib1g-dev libdnnl-dev libopenblas-dev liblapacke-dev libopenmpi-dev openmpi-bin
python3 python3-numpy python3-torch python3-torchvision python3-sklearn bc dataset-fashion-mnist gnuplot-nox groff-base
libnetcdf-dev python3-xarray python3-netcdf4 python3-pil"
missing=$(for p in $PKGS; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"; done)
[ -z "$missing" ] && { echo "deps: all installed"; exit 0; }
line="apt-get install -y --no-install-recommends $(echo $missing)"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: run as root: apt-get update && $line"
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$line
