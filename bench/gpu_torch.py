"""The literal PyTorch CordsNet (testdata/model/cordsnet.py) on a GPU, on the
weights and input bench/gpu_infer wrote to DIR: images/s over the full
protocol (as the literal model runs it: spontaneous and stimulus steps for
every batch), and its logits against gpu_infer's.
  python3 bench/gpu_torch.py DIR [--batches 2] [--spont 100] [--stim 100]
                             [--depth 8] [--tf32] [--compare logits-cuda:0.f32]
Prints one line: key=value pairs."""
import argparse
import os
import sys
import time

import torch

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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--batches", type=int, default=2)
    ap.add_argument("--spont", type=int, default=100)
    ap.add_argument("--stim", type=int, default=100)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--tf32", action="store_true", help="allow TF32 (PyTorch's default for cuDNN)")
    ap.add_argument("--compare", help="logits file in DIR to compare with")
    a = ap.parse_args()
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    p = {k: v.to(dev) for k, v in load(a.dir).items()}
    x = p.pop("x")
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
    if a.compare:
        with open(os.path.join(a.dir, a.compare), "rb") as g:
            other = torch.frombuffer(bytearray(g.read()), dtype=torch.float32).reshape(logits.shape).to(dev)
        err = ((other - logits).abs().max() / logits.abs().max()).item()
        same = (other.argmax(1) == logits.argmax(1)).float().mean().item()
        line += " max_rel_err=%.3g argmax_agree=%.3f" % (err, same)
    print(line, flush=True)


if __name__ == "__main__":
    main()
