#!/bin/sh
# bench/eig: 300 Arnoldi steps on CordsNet-R8's largest recurrent operator
# (area 0 or 1 at 224: 64 x 56 x 56 = 200,704 unknowns, random weights),
# in the three orthogonalisation schemes cords-eig offers:
#   f64 CGS2 (default: two passes, three trips through the 482 MB basis a step),
#   f64 DGKS (second pass only on cancellation: two trips),
#   f32 DGKS (--basis f32 --reorth dgks: two trips through a 241 MB basis).
# Target (issue 6): under 5 s on a 2-core machine. Run from the repository
# root: sh bench/eig.sh [k]   (about a minute on 2 quiet cores)
set -e
make -s build/bench/eig
k=${1:-300}
for cfg in "cgs2 f64" "dgks f64" "dgks f32"; do
	./build/bench/eig "$k" $cfg
	echo
done
