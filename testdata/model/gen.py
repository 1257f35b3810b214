#!/usr/bin/python3
"""Regenerates the model fixtures: small CordsNets in our stream format and
what the literal PyTorch implementation (cordsnet.py) computes for them.

  /usr/bin/python3 testdata/model/gen.py            # the committed fixtures
  /usr/bin/python3 testdata/model/gen.py --long     # r4-long.case.tzst alone
  /usr/bin/python3 testdata/model/gen.py --r8 DIR   # R8 at 224 (CLI test, not committed)
  /usr/bin/python3 testdata/model/gen.py --r6 DIR   # R6 at 32x32 (CLI test, not committed)

Each case NAME gives NAME.model.tzst (meta + parameters) and NAME.case.tzst:
meta (phi, prelu_slope, alpha, spont_steps, stim_steps), x [B,C,H,W] f32,
logits [B,N], logits_t [T,B,N] and r{i} [T,B,c,h,w] for every step t = 1..T.
r4-long.case.tzst (r4.model.tzst over 100 + 100 steps, computed in float64):
logits, logits_t every step, and last_r{i} [B,c,h,w], the states at the end."""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cordsnet  # noqa: E402
import cstream  # noqa: E402


def model_records(params, depth, cin, h, w, classes, dtype, extra=None):
    m = {"format": "cords-model", "depth": depth, "in_channels": cin, "height": h, "width": w,
         "classes": classes}
    m.update(extra or {})
    recs = [("meta", cstream.meta(m))]
    recs += [(k, v.numpy().astype(dtype)) for k, v in params.items()]
    return recs


def make_case(out, name, depth, cin, h, w, classes, batch, spont, stim, phis, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    params = cordsnet.init_params(depth, cin, h, w, classes, gen, bias_std=0.3, g_jitter=0.5)
    # The C side reads what was stored: compute with the stored precision.
    params = {k: torch.from_numpy(v.numpy().astype(dtype).astype(np.float32)) for k, v in params.items()}
    cstream.write(os.path.join(out, name + ".model.tzst"), model_records(params, depth, cin, h, w, classes, dtype))
    x = torch.randn(batch, cin, h, w, generator=gen)
    for phi, slope, alpha in phis:
        net = cordsnet.CordsNet(params, depth, alpha, phi, slope)
        states, logits_t = [[] for _ in range(depth)], []

        def on_step(t, r):
            for i in range(depth):
                states[i].append(r[i].clone())
            logits_t.append(net.readout(r))

        with torch.no_grad():
            logits, _ = net.run(x, spont, stim, on_step)
        meta = cstream.meta({"phi": phi, "prelu_slope": slope, "alpha": alpha, "spont_steps": spont,
                             "stim_steps": stim})
        recs = [("meta", meta), ("x", x.numpy()), ("logits", logits.numpy()),
                ("logits_t", torch.stack(logits_t).numpy())]
        recs += [("r%d" % i, torch.stack(states[i]).numpy()) for i in range(depth)]
        cstream.write(os.path.join(out, "%s-%s.case.tzst" % (name, phi)), recs)


def long_case(here):
    """The long horizon, where float32's error accumulates: r4.model.tzst as stored, ReLU, 100
    spontaneous and 100 stimulus steps, in float64."""
    torch.set_default_dtype(torch.float64)
    recs = cstream.read(os.path.join(here, "r4.model.tzst"))
    params = {n: torch.from_numpy(np.asarray(v, np.float64)) for n, v in recs if n != "meta"}
    x = torch.randn(2, 3, 20, 24, generator=torch.Generator().manual_seed(44), dtype=torch.float32)
    net = cordsnet.CordsNet(params, 4, 0.2, "relu", 0.0)
    logits_t = []
    with torch.no_grad():
        logits, r = net.run(x.double(), 100, 100, lambda t, r: logits_t.append(net.readout(r)))
    torch.set_default_dtype(torch.float32)
    meta = cstream.meta({"phi": "relu", "prelu_slope": 0.0, "alpha": 0.2, "spont_steps": 100, "stim_steps": 100})
    f32 = lambda t: t.numpy().astype(np.float32)
    out = [("meta", meta), ("x", x.numpy()), ("logits", f32(logits)), ("logits_t", f32(torch.stack(logits_t)))]
    out += [("last_r%d" % i, f32(r[i])) for i in range(4)]
    cstream.write(os.path.join(here, "r4-long.case.tzst"), out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--r8", metavar="DIR", help="write the R8-at-224 case into DIR instead")
    ap.add_argument("--steps", type=int, nargs=2, default=[2, 2], metavar=("SPONT", "STIM"))
    ap.add_argument("--r6", metavar="DIR", help="write R6 cases at 32x32 into DIR instead")
    ap.add_argument("--long", action="store_true", help="write r4-long.case.tzst only")
    a = ap.parse_args()
    torch.set_num_threads(2)
    here = os.path.dirname(os.path.abspath(__file__))
    if a.r8:
        make_case(a.r8, "r8", 8, 3, 224, 224, 1000, 1, a.steps[0], a.steps[1], [("relu", 0.0, 0.2)],
                  np.float32, 8)
        return
    all_phis = [("relu", 0.0, 0.2), ("identity", 0.0, 0.2), ("prelu", 0.25, 0.3)]
    if a.r6:
        make_case(a.r6, "r6", 6, 3, 32, 32, 10, 2, 3, 4, all_phis, np.float32, 6)
        return
    if a.long:
        long_case(here)
        return
    make_case(here, "r2", 2, 1, 28, 28, 10, 2, 3, 4, all_phis, np.float32, 2)
    make_case(here, "r4", 4, 3, 20, 24, 7, 2, 3, 5, all_phis, np.float16, 4)
    long_case(here)


if __name__ == "__main__":
    main()
