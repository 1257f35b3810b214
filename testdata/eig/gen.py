#!/usr/bin/python3
"""Reference spectra for cords-eig, computed independently with PyTorch and
NumPy from the model fixtures in testdata/model (literal model: cordsnet.py):

  r2-conv0.tsv      top eigenvalues of area_conv_0 of r2 (dense matrix, numpy.linalg.eigvals)
  r4-conv3.tsv      the same for area_conv_3 of r4 (128 x 3 x 3: small enough for the dense method)
  r2-jacobian1.tsv  top eigenvalues of area 1's block of the one-step Jacobian at the
                    spontaneous state (autograd, in double)
  r2-network.tsv    top eigenvalues of the whole one-step Jacobian there
  r4-jv.tzst        v (random) and J v for r4's whole Jacobian at the spontaneous state:
                    checks the coupling (feed-forward convs, skips, relu' masks), which
                    the spectrum alone does not see (J is block lower-triangular)

  /usr/bin/python3 testdata/eig/gen.py      (about a minute)"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "model"))
import cordsnet  # noqa: E402
import cstream  # noqa: E402

TOP = 24
SPONT, ALPHA = 100, 0.2  # the fixtures' metadata leaves the protocol at its defaults


def load(name):
    recs = dict(cstream.read(os.path.join(HERE, "..", "model", name)))
    meta = dict(l.split("=", 1) for l in recs.pop("meta").splitlines() if "=" in l)
    params = {k: torch.from_numpy(v.astype(np.float32)) for k, v in recs.items()}
    return params, int(meta["depth"]), int(meta["in_channels"]), int(meta["height"]), int(meta["width"])


def conv_eigvals(params, depth, h, w, area):
    """area_conv_i as a dense matrix (column k = conv(e_k)), numpy's eigvals."""
    net = cordsnet.CordsNet({k: v.double() for k, v in params.items()}, depth)
    W = net.W("area_conv.%d" % area)
    c, (ah, aw) = W.shape[0], cordsnet.area_sizes(depth, h, w)[area]
    n = c * ah * aw
    M = F.conv2d(torch.eye(n, dtype=torch.float64).reshape(n, c, ah, aw), W, padding=1).reshape(n, n).T
    return np.linalg.eigvals(M.numpy())


def spont_state(params, depth, cin, h, w):
    """The C model runs in f32: so does this, then the state goes to double."""
    net = cordsnet.CordsNet(params, depth, ALPHA, "relu")
    r = [torch.zeros(1, cordsnet.CH[i + 1], *s) for i, s in enumerate(cordsnet.area_sizes(depth, h, w))]
    p = net.drive(torch.zeros(1, cin, h, w))
    with torch.no_grad():
        for _ in range(SPONT):
            r = net.step(r, p)
    return [x.double() for x in r], p.double()


def step_fn(params, depth, shapes, p):
    net = cordsnet.CordsNet({k: v.double() for k, v in params.items()}, depth, ALPHA, "relu")
    sizes = [int(np.prod(s)) for s in shapes]

    def f(flat):
        r = [t.reshape(1, *s) for t, s in zip(torch.split(flat, sizes), shapes)]
        return torch.cat([t.flatten() for t in net.step(list(r), p)])
    return f, net


def top(ev):
    ev = np.asarray(ev)
    order = sorted(range(len(ev)), key=lambda i: (-round(abs(ev[i]), 12), -ev[i].real, -ev[i].imag))
    return ev[order][:TOP]


def write_tsv(name, ev):
    with open(os.path.join(HERE, name), "w") as f:
        for z in top(ev):
            f.write("%.17g\t%.17g\n" % (z.real, z.imag))


def min_abs_preact(params, depth, r, p):
    """How far the pre-activations are from the ReLU kink: the C state is f32
    and may differ by ~1e-6, so a mask could flip only for |z| that small.
    With phi = identity one step gives z exactly: r' = (1 - a) r + a z."""
    net = cordsnet.CordsNet({k: v.double() for k, v in params.items()}, depth, ALPHA, "identity")
    out = net.step([x.clone() for x in r], p)
    return min(float(((o - (1 - ALPHA) * x) / ALPHA).abs().min()) for o, x in zip(out, r))


def main():
    torch.set_num_threads(2)
    torch.manual_seed(6)
    params, depth, cin, h, w = load("r2.model.tzst")
    write_tsv("r2-conv0.tsv", conv_eigvals(params, depth, h, w, 0))
    # (b), (c) the one-step Jacobian at the spontaneous state
    r, p = spont_state(params, depth, cin, h, w)
    shapes = [x.shape[1:] for x in r]
    f, net = step_fn(params, depth, shapes, p)
    flat = torch.cat([x.flatten() for x in r])
    J = torch.autograd.functional.jacobian(f, flat, vectorize=True).numpy()
    n0 = int(np.prod(shapes[0]))
    write_tsv("r2-jacobian1.tsv", np.linalg.eigvals(J[n0:, n0:]))
    write_tsv("r2-network.tsv", np.linalg.eigvals(J))
    print("r2: smallest |pre-activation| %.3g" % min_abs_preact(params, depth, r, p))
    # (c) the coupling, on r4: J v against autograd's jvp
    params, depth, cin, h, w = load("r4.model.tzst")
    write_tsv("r4-conv3.tsv", conv_eigvals(params, depth, h, w, 3))
    r, p = spont_state(params, depth, cin, h, w)
    shapes = [x.shape[1:] for x in r]
    f, net = step_fn(params, depth, shapes, p)
    flat = torch.cat([x.flatten() for x in r])
    v = torch.randn(flat.numel(), dtype=torch.float64)
    _, jv = torch.autograd.functional.jvp(f, flat, v)
    cstream.write(os.path.join(HERE, "r4-jv.tzst"), [("v", v.numpy()), ("jv", jv.numpy())])
    print("r4: smallest |pre-activation| %.3g" % min_abs_preact(params, depth, r, p))


if __name__ == "__main__":
    main()
