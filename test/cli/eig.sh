# cords-eig: spectra against PyTorch/NumPy references (testdata/eig/gen.py),
# the methods against each other, outputs, and errors.
. "$(dirname "$0")/lib.sh"
M=$TESTDATA/model/r2.model.tzst
R=$TESTDATA/eig

# close A B N TOL: the first N lines of two re<TAB>im files (both have them)
# within TOL of each other as complex numbers
close() { worst "$1" "$2" --rows "$3" --abs "$4"; }

expect_exit 0 "arnoldi on area_conv_0" cords-eig -m "$M" -a 0 --tsv --top 10
cp "$T/.out" "$T/conv0.tsv"
check "top 10 equal numpy's eigvals within 1e-6" close "$T/conv0.tsv" "$R/r2-conv0.tsv" 10 1e-6
err_has "spectral radius on stderr" "spectral radius 0.6075"
err_has "linear stability reported" "continuous time stable"
check "tsv: two tab-separated numbers a line" sh -c "awk -F'\t' 'NF != 2 || \$1 + 0 != \$1 { exit 1 }' '$T/conv0.tsv'"

M4=$TESTDATA/model/r4.model.tzst
expect_exit 0 "dense on r4's area_conv_3 (128 x 3 x 3)" cords-eig -m "$M4" -a 3 --method dense --tsv --top 20
check "dense equals numpy within 1e-9" close "$T/.out" "$R/r4-conv3.tsv" 20 1e-9
expect_exit 0 "arnoldi with k >= n there" cords-eig -m "$M4" -a 3 -k 1200 --tsv --top 24
check "all converged: top 24 equal numpy within 1e-9" close "$T/.out" "$R/r4-conv3.tsv" 24 1e-9

# --device cuda: the same spectrum from the GPU, or (no GPU, no CUDA) a clear refusal
expect_exit 2 "--device gpu is refused" cords-eig -m "$M" -a 0 --device gpu
expect_exit 2 "--basis f32 is refused on a GPU" cords-eig -m "$M" -a 0 --device cuda --basis f32
if cords-eig -m "$M" -a 0 --tsv --top 10 --device cuda -o "$T/cuda.tsv" 2>"$T/cuda.err"; then
	check "--device cuda: top 10 equal the CPU's within 1e-9" close "$T/cuda.tsv" "$T/conv0.tsv" 10 1e-9
else
	check "--device cuda without a GPU: says why, writes nothing" \
		sh -c "grep -q 'cuda:0' '$T/cuda.err' && [ ! -e '$T/cuda.tsv' ]"
fi

# --converge: Krylov-Schur restarts until the top k pass --tol
expect_exit 0 "--converge on r4's area_conv_3" cords-eig -m "$M4" -a 3 --converge -k 8 --ncv 24 --tol 1e-10 --tsv
check "top 8 equal numpy's dense eigvals within 1e-8" close "$T/.out" "$R/r4-conv3.tsv" 8 1e-8
err_has "restarts reported" "8 of the top 8 converged (tol 1e-10, residuals computed) after [1-9][0-9]* restarts of a 24-vector basis"
expect_exit 0 "--converge on r2's area_conv_0, one step at a time" cords-eig -m "$M" -a 0 --converge --block 1 --tol 1e-10 --tsv
check "top 6 equal numpy's dense eigvals within 1e-8" close "$T/.out" "$R/r2-conv0.tsv" 6 1e-8
check "lists the 6 wanted" test "$(wc -l < "$T/.out")" -eq 6
# past the dense limit: 64 x 16 x 16 = 16,384 unknowns, against 400 unrestarted steps
cords-init -q --classes 10 --in-channels 1 --size 64 --depth 2 --seed 3 -o "$T/mid.tzst"
expect_exit 0 "--converge on 16,384 unknowns" cords-eig -m "$T/mid.tzst" -a 0 --converge -k 6 --tsv -o "$T/kc.tsv"
expect_exit 0 "400 unrestarted steps there" cords-eig -m "$T/mid.tzst" -a 0 -k 400 --top 6 --tsv -o "$T/ku.tsv"
check "their top 6 converged" sh -c "! grep -q 'have not converged' '$T/.err'"
check "--converge equals them within 1e-7" close "$T/kc.tsv" "$T/ku.tsv" 6 1e-7
expect_exit 2 "--converge with --method power" cords-eig -m "$M" -a 0 --converge --method power
expect_exit 2 "--converge with --method dense" cords-eig -m "$M" -a 0 --converge --method dense
expect_exit 2 "--ncv without --converge" cords-eig -m "$M" -a 0 --ncv 40
expect_exit 2 "--ncv below k + 2" cords-eig -m "$M" -a 0 --converge -k 6 --ncv 7
err_has "says why" "at least k + 2"
expect_exit 2 "--converge with --basis f32" cords-eig -m "$M" -a 0 --converge --basis f32
expect_exit 2 "--top beyond the converged k" cords-eig -m "$M" -a 0 --converge -k 4 --top 6
expect_exit 2 "--basis f32 with --block 8" cords-eig -m "$M" -a 0 --basis f32 --block 8
expect_exit 2 "--block 0" cords-eig -m "$M" -a 0 --block 0
expect_exit 0 "--block 1 (one step at a time) equals blocks" cords-eig -m "$M" -a 0 --block 1 --tsv --top 10
check "top 10 equal within 1e-12" close "$T/.out" "$T/conv0.tsv" 10 1e-12

expect_exit 0 "default lists only converged values" cords-eig -m "$M" -a 0 -k 40 --tsv
check "k 40: fewer than 40 listed" test "$(wc -l < "$T/.out")" -lt 40

expect_exit 0 "jacobian of area 1 at the spontaneous state" cords-eig -m "$M" -a 1 --op jacobian --tsv --top 6
check "equals autograd + numpy within 1e-6" close "$T/.out" "$R/r2-jacobian1.tsv" 6 1e-6
err_has "fixed point residual reported" "one more step changes it by"
err_has "stability reported" "fixed point: stable for the discrete-time step"

expect_exit 0 "network Jacobian" cords-eig -m "$M" --op network -k 200 --tsv --top 3
check "equals autograd + numpy within 1e-6" close "$T/.out" "$R/r2-network.tsv" 3 1e-6

expect_exit 0 "power on the jacobian (stream out)" cords-eig -m "$M" -a 1 --op jacobian --method power -o "$T/p.tzst"
err_has "power reports its residual" "residual ||Av - lambda v||"
err_has "power reports the gap" "|lambda2/lambda1|"
check "stream has eigenvalues [1,2] f64" sh -c "cords-cat -l '$T/p.tzst' | grep -q '^eigenvalues  *f64  *\[1,2\]'"
check "stream has eigenvector [64,7,7]" sh -c "cords-cat -l '$T/p.tzst' | grep -q '^eigenvector  *f64  *\[64,7,7\]'"

# power knows the dominant eigenvalue only: its verdict is bounds, which hold
expect_exit 0 "dense on r4's area_conv_0" cords-eig -m "$M4" -a 0 --method dense --top 1 --tsv
mu=$(sed -n 's/.*max |1 - alpha + alpha lambda| = \([0-9.e+-]*\).*/\1/p' "$T/.err")
expect_exit 0 "power there" cords-eig -m "$M4" -a 0 --method power --tsv
err_has "power's verdict said to be bounds" "bounds from the dominant eigenvalue only"
b=$(sed -n 's/.*(\([0-9.e+-]*\) <= max |1 - alpha + alpha lambda| <= \([0-9.e+-]*\)).*/\1 \2/p' "$T/.err")
check "dense's max |1 - alpha + alpha lambda| ($mu) within power's bounds ($b)" \
	awk -v m="$mu" -v lo="${b% *}" -v hi="${b#* }" 'BEGIN { exit !(m != "" && lo <= m && m <= hi && lo < hi) }'
expect_exit 0 "power on a complex-pair dominated conv" cords-eig -m "$M" -a 0 --method power --maxit 300 --tsv
err_has "failure is said, not hidden" "did not converge"
check "no fake eigenvalue printed" test ! -s "$T/.out"

expect_exit 0 "arnoldi stream" cords-eig -m "$M" -a 0 -k 60 --top 5 -o "$T/a.tzst"
check "eigenvalues [5,2] and residuals" sh -c "cords-cat -l '$T/a.tzst' | grep -q '^eigenvalues  *f64  *\[5,2\]' && cords-cat -l '$T/a.tzst' | grep -q '^residuals '"
check "meta says what was computed" sh -c "cords-cat -m '$T/a.tzst' | grep -q '^op=conv'"

if have_python numpy; then
	/usr/bin/python3 -c "
import sys, numpy as np; sys.path.insert(0, '$TESTDATA/model'); import cstream
x = np.random.default_rng(1).normal(size=(1, 1, 28, 28)).astype(np.float32)
cstream.write('$T/one.tzst', [('x', x), ('y', np.zeros(1, np.int64))])
cstream.write('$T/two.tzst', [('x', np.concatenate([x, x]))])"
	expect_exit 0 "jacobian at an image's state" cords-eig -m "$M" -a 1 --op jacobian --at "$T/one.tzst" -k 100 --tsv --top 1
	err_has "state named" "state: .*one.tzst"
	expect_exit 1 "two images refused" cords-eig -m "$M" -a 1 --op jacobian --at "$T/two.tzst"
	err_has "says one image" "one image"
else
	skip "the Jacobian at an image's state" "no numpy to write the image"
fi

# --at fixed: r2 with a 5 + 5 step protocol, far from its fixed point, and
# with 5 + 2000 steps (r2 contracts: the long run ends at the fixed point)
if have_python torch; then
	/usr/bin/python3 -c "
import sys; sys.path.insert(0, '$TESTDATA/model'); import cstream
recs = cstream.read('$M')
for name, stim in (('short', 5), ('long', 2000)):
    cstream.write('$T/%s.tzst' % name, [(k, v + 'spont_steps=5\\nstim_steps=%d\\n' % stim if k == 'meta' else v) for k, v in recs])"
	expect_exit 0 "--at fixed:FILE (Newton-Krylov)" cords-eig -m "$T/short.tzst" --at "fixed:$T/one.tzst" \
		--save-state "$T/fixed.tzst" --converge -k 2 --tsv
	err_has "residual and distance reported" "fixed point: residual .* after [1-9][0-9]* Newton steps.* distance"
	err_has "the spectrum's verdict there" "fixed point: stable for the discrete-time step"
	res=$(sed -n 's/.*||F(r\*) - r\*|| \/ ||r\*|| = \([^ ]*\) (\([^ ]*\) at.*/\1 \2/p' "$T/.err")
	check "the protocol's state was no fixed point (residual > 1e-3)" awk -v r="${res#* }" 'BEGIN { exit !(r > 1e-3) }'
	lit=$(/usr/bin/python3 "$(dirname "$0")/fixedcheck.py" "$TESTDATA/model" "$M" "$T/one.tzst" "$T/fixed.tzst")
	check "F(r*) = r* by the literal model in double to the reported residual ($lit against ${res% *})" \
		awk -v a="$lit" -v b="${res% *}" 'BEGIN { exit !(a <= 1e-6 && a <= b + 1e-7) }'
	expect_exit 0 "the protocol's state itself" cords-eig -m "$T/short.tzst" --op network --at "$T/one.tzst" \
		--save-state "$T/r0.tzst" -k 20 --top 1 --tsv
	lit0=$(/usr/bin/python3 "$(dirname "$0")/fixedcheck.py" "$TESTDATA/model" "$M" "$T/one.tzst" "$T/r0.tzst")
	check "the residual measured as the literal model does there ($lit0 against ${res#* })" \
		awk -v a="$lit0" -v b="${res#* }" 'BEGIN { d = a - b; exit !(d <= 1e-4 * a && -d <= 1e-4 * a) }'
	expect_exit 0 "2000 steps of the contracting model" cords-eig -m "$T/long.tzst" --op network \
		--at "$T/one.tzst" --save-state "$T/long-state.tzst" -k 20 --top 1 --tsv
	check "r* equals the state after 2000 steps within 1e-5 of its largest entry" compare "$T/long-state.tzst" "$T/fixed.tzst" 1e-5
	expect_exit 0 "--at fixed (spontaneous) defaults to --op network" cords-eig -m "$T/short.tzst" --at fixed -k 40 --top 1 --tsv
	err_has "the fixed point from the spontaneous state" "state: the fixed point from the spontaneous state"
else
	skip "--at fixed" "no PyTorch for the literal model"
fi
expect_exit 2 "--at fixed: needs a FILE" cords-eig -m "$M" --at fixed:
expect_exit 2 "--save-state with --op conv" cords-eig -m "$M" -a 0 --save-state "$T/s.tzst"
check "nothing written" test ! -e "$T/s.tzst"

expect_exit 1 "area out of range" cords-eig -m "$M" -a 2
err_has "names the range" "areas 0..1"
expect_exit 1 "dense refused above the limit" cords-eig -m "$M" --op network --method dense
err_has "says the limit" "limit is 4096"
expect_exit 1 "missing model" cords-eig -m "$T/nope.tzst" -a 0
expect_exit 2 "no model" cords-eig -a 0
expect_exit 2 "no area" cords-eig -m "$M"
expect_exit 2 "bad op" cords-eig -m "$M" -a 0 --op bogus
expect_exit 2 "--at with conv" cords-eig -m "$M" -a 0 --at spont2
expect_exit 2 "bad k" cords-eig -m "$M" -a 0 -k 0
expect_exit 0 "--help" cords-eig --help
check "--help on stdout" grep -q Usage "$T/.out"
