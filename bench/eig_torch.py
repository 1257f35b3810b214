"""The anchors of bench/eig.sh, in PyTorch, on one area's recurrent convolution
(area_conv_I of a model stream, weight-normalised, 3x3, zero padding 1, no bias):

  eig_torch.py original MODEL I OUT.tsv [STEPS [QR]]
      CordsNet's own eigen algorithm as published with the paper: in single
      precision (torch's default dtype), a uniform random start, STEPS (300)
      Arnoldi steps, each orthogonalised by one modified Gram-Schmidt sweep, a
      Python loop over the basis; then QR (5000) unshifted QR iterations
      A <- R Q on the STEPS x STEPS Hessenberg matrix, and torch.linalg.eigvals
      of the result.
  eig_torch.py arpack MODEL I OUT.tsv [K [TOL]]
      scipy's ARPACK (scipy.sparse.linalg.eigs, its default basis) for the top
      K (6) eigenvalues by modulus to the relative residual TOL (1e-6), the
      product by torch's conv2d in double.

Both print one line, 'seconds S ...', the wall time of the algorithm (model
loading excluded), and write the eigenvalues to OUT.tsv, re<TAB>im a line, by
decreasing modulus. Threads: OMP_NUM_THREADS (torch.set_num_threads); the
random start: SEED (default 1, torch.manual_seed)."""
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "testdata", "model"))
import cordsnet  # noqa: E402
import cstream  # noqa: E402


def area_weight(path, area):
    recs = cstream.read(path)
    meta = dict(kv.split("=", 1) for kv in dict(recs)["meta"].strip().split("\n") if "=" in kv)
    params = {k: torch.from_numpy(v) for k, v in recs if k != "meta"}
    depth = int(meta["depth"])
    h, w = cordsnet.area_sizes(depth, int(meta["height"]), int(meta["width"]))[area]
    return cordsnet.CordsNet(params, depth).W("area_conv.%d" % area).float(), h, w


def write(path, vals):
    vals = np.asarray(vals, np.complex128)
    vals = vals[np.lexsort((-vals.imag, -vals.real, -np.abs(vals)))]
    with open(path, "w") as f:
        for v in vals:
            f.write("%.17g\t%.17g\n" % (v.real, v.imag))


def original(W, h, w, steps, qr):
    c = W.shape[0]
    conv = lambda x: F.conv2d(x, W, padding=1)  # noqa: E731
    t0 = time.time()
    V = torch.zeros(steps + 1, 1, c, h, w)
    x = torch.rand(1, c, h, w)
    V[0] = x / torch.norm(x)
    H = torch.zeros(steps + 1, steps)
    for k in range(steps):
        v = conv(V[k])
        for j in range(k + 1):
            H[j, k] = torch.sum(V[j] * v)
            v = v - H[j, k] * V[j]
        H[k + 1, k] = torch.norm(v)
        V[k + 1] = v / H[k + 1, k]
    A = H[:steps, :steps].clone()
    t1 = time.time()
    for _ in range(qr):
        Q, R = torch.linalg.qr(A)
        A = R @ Q
    vals = torch.linalg.eigvals(A).numpy()
    t2 = time.time()
    print("seconds %.3f arnoldi %.3f qr %.3f torch %s" % (t2 - t0, t1 - t0, t2 - t1, torch.__version__))
    return vals


def arpack(W, h, w, k, tol):
    from scipy.sparse.linalg import LinearOperator, eigs
    c, Wd, count = W.shape[0], W.double(), [0]

    def mv(x):
        count[0] += 1
        y = F.conv2d(torch.from_numpy(np.ascontiguousarray(x, np.float64)).reshape(1, c, h, w), Wd, padding=1)
        return y.reshape(-1).numpy()

    n = c * h * w
    t0 = time.time()
    vals = eigs(LinearOperator((n, n), matvec=mv, dtype=np.float64), k=k, which="LM", tol=tol,
                v0=np.random.default_rng(1).standard_normal(n), return_eigenvectors=False, maxiter=100000)
    print("seconds %.3f matvecs %d torch %s" % (time.time() - t0, count[0], torch.__version__))
    return vals


def main():
    mode, model, area, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    extra = sys.argv[5:]
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    torch.manual_seed(int(os.environ.get("SEED", "1")))
    W, h, w = area_weight(model, area)
    with torch.no_grad():
        if mode == "original":
            vals = original(W, h, w, int(extra[0]) if extra else 300, int(extra[1]) if len(extra) > 1 else 5000)
        else:
            vals = arpack(W, h, w, int(extra[0]) if extra else 6, float(extra[1]) if len(extra) > 1 else 1e-6)
    write(out, vals)


main()
