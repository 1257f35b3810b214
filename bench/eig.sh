#!/bin/sh
# bench/eig: 300 Arnoldi steps on R8's largest recurrent operator (64x56x56).
# Run from the repository root: sh bench/eig.sh [k] [cgs2|dgks]
# Target (issue 6): under 5 s on a 2-core machine.
set -e
make -s build/libcords.a
cc -std=c11 -D_DEFAULT_SOURCE -O3 -march=native -fopenmp -Ilib $(pkg-config --cflags openblas) \
	-o build/bench-eig bench/eig.c build/libcords.a $(pkg-config --libs libzstd lapacke openblas) -lm -fopenmp
./build/bench-eig "${1:-300}" "${2:-cgs2}"
