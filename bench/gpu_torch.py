"""The literal PyTorch CordsNet (testdata/model/cordsnet.py) on a GPU, on the
weights and input bench/gpu_infer wrote to DIR: images/s over the full
protocol (as the literal model runs it: spontaneous and stimulus steps for
every batch), and its logits against gpu_infer's.
  python3 bench/gpu_torch.py DIR [--batches 2] [--spont 100] [--stim 100]
                             [--depth 8] [--tf32] [--compare logits-cuda:0.f32]
With --train B: instead, one training step of stage 5 (anneal: PReLU slope
0.95, spontaneous phase without gradient, stimulus with 30 time-weighted
read-outs, blank again with the spont penalty, AdamW) on the first B images,
written literally with autograd: seconds per step, or oom=1.
Prints one line: key=value pairs."""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "model"))
import cordsnet  # noqa: E402


def load(d):
    out = {}
    with open(os.path.join(d, "manifest.txt")) as f:
        for line in f:
            w = line.split()
            shape = [int(v) for v in w[2:2 + int(w[1])]]
            with open(os.path.join(d, w[0] + ".f32"), "rb") as g:
                out[w[0]] = torch.frombuffer(bytearray(g.read()), dtype=torch.float32).reshape(shape)
    return out


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def run(net, x, spont, stim):
    """cordsnet.CordsNet.run with the states on x's device."""
    B = x.shape[0]
    sizes = cordsnet.area_sizes(net.D, x.shape[2], x.shape[3])
    r = [torch.zeros(B, cordsnet.CH[i + 1], *s, device=x.device) for i, s in enumerate(sizes)]
    blank = torch.zeros_like(x)
    for t in range(spont + stim):
        r = net.step(r, net.drive(blank if t < spont else x))
    return net.readout(r)


def train_step(net, params, x, y, opt, spont, stim, blank=100, readouts=30, window=10):
    """cords-training(7), stages 4-5, literally: loss = mean_t(ramp_t CE_t) + 1e-3 spont."""
    B, D = x.shape[0], net.D
    sizes = cordsnet.area_sizes(D, x.shape[2], x.shape[3])
    r = [torch.zeros(B, cordsnet.CH[i + 1], *s, device=x.device) for i, s in enumerate(sizes)]
    blank_x = torch.zeros_like(x)
    with torch.no_grad():
        for _ in range(spont):
            r = net.step(r, net.drive(blank_x))
    base = [v.detach() for v in r]
    ramp = 10 ** torch.linspace(-3, 0, readouts, device=x.device)
    ce = 0
    for t in range(stim):
        r = net.step(list(r), net.drive(x))
        k = t - (stim - readouts)
        if k >= 0:
            ce = ce + ramp[k] * F.cross_entropy(net.readout(r), y)
    pen = 0
    for t in range(blank):
        r = net.step(list(r), net.drive(blank_x))
        if t >= blank - window:
            pen = pen + sum(((r[j] - base[j]) ** 2).mean() for j in range(D)) / (window * D)
    loss = ce / readouts + 1e-3 * pen
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1e-4)
    opt.step()
    return loss.item()


def train(a, p, x, dev):
    B = min(a.train, x.shape[0])
    x = x[:B].contiguous()
    y = torch.randint(0, p["out_fc.bias"].shape[0], (B,), device=dev, generator=torch.Generator(dev).manual_seed(0))
    params = [v.requires_grad_(True) for v in p.values()]
    net = cordsnet.CordsNet(p, a.depth, 0.2, "prelu", 0.95)
    opt = torch.optim.AdamW(params, lr=1e-5)
    line = "torch_train device=%s tf32=%d batch=%d" % (
        torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", int(a.tf32), B)
    try:
        train_step(net, params, x, y, opt, a.spont, a.stim, a.stim)  # warm-up
        sync(dev)
        t0 = time.perf_counter()
        for _ in range(a.batches):
            train_step(net, params, x, y, opt, a.spont, a.stim, a.stim)
        sync(dev)
        sec = (time.perf_counter() - t0) / a.batches
        peak = torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda" else 0
        line += " seconds_per_step=%.3f peak_gib=%.1f" % (sec, peak)
    except torch.cuda.OutOfMemoryError:
        line += " oom=1 seconds_per_step=oom"
    print(line, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--batches", type=int, default=2)
    ap.add_argument("--spont", type=int, default=100)
    ap.add_argument("--stim", type=int, default=100)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--tf32", action="store_true", help="allow TF32 (PyTorch's default for cuDNN)")
    ap.add_argument("--compare", help="logits file in DIR to compare with")
    ap.add_argument("--train", type=int, default=0, metavar="B", help="time a stage-5 training step at batch B")
    a = ap.parse_args()
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    p = {k: v.to(dev) for k, v in load(a.dir).items()}
    x = p.pop("x")
    if a.train:
        return train(a, p, x, dev)
    net = cordsnet.CordsNet(p, a.depth)
    with torch.inference_mode():
        logits = run(net, x, a.spont, a.stim)  # warm-up (cuDNN benchmark) and the answer
        sync(dev)
        t0 = time.perf_counter()
        for _ in range(a.batches):
            run(net, x, a.spont, a.stim)
        sync(dev)
        sec = time.perf_counter() - t0
    line = "torch device=%s tf32=%d batch=%d batches=%d seconds=%.3f images_per_s=%.2f" % (
        torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", int(a.tf32), x.shape[0], a.batches, sec, x.shape[0] * a.batches / sec)
    if a.compare and not os.path.exists(os.path.join(a.dir, a.compare)):
        line += " compare=missing"  # cords did not run: PyTorch's time still counts
    elif a.compare:
        with open(os.path.join(a.dir, a.compare), "rb") as g:
            other = torch.frombuffer(bytearray(g.read()), dtype=torch.float32).reshape(logits.shape).to(dev)
        err = ((other - logits).abs().max() / logits.abs().max()).item()
        same = (other.argmax(1) == logits.argmax(1)).float().mean().item()
        line += " max_rel_err=%.3g argmax_agree=%.3f" % (err, same)
    print(line, flush=True)


if __name__ == "__main__":
    main()
