#!/usr/bin/python3
"""The literal PyTorch CordsNet (testdata/model/cordsnet.py) on the same model
and images as cords-infer, for bench/infer/run.sh:
  torch_ref.py MODEL IMAGES SPONT STIM THREADS OUT.npy
prints 'seconds N' (wall time of the protocol, model loading excluded)."""
import os
import sys
import time

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "testdata", "model"))
import cordsnet  # noqa: E402
import cstream  # noqa: E402

model, images, spont, stim, threads, out = sys.argv[1:7]
torch.set_num_threads(int(threads))
recs = cstream.read(model)
meta = dict(kv.split("=", 1) for kv in dict(recs)["meta"].strip().split("\n"))
params = {k: torch.from_numpy(v.astype(np.float32)) for k, v in recs if k != "meta"}
mean = np.array([float(v) for v in meta["norm_mean"].split(",")], np.float32)[:, None, None]
std = np.array([float(v) for v in meta["norm_std"].split(",")], np.float32)[:, None, None]
net = cordsnet.CordsNet(params, int(meta["depth"]), float(meta.get("alpha", 0.2)))
logits = []
t0 = time.time()
with torch.no_grad():
    for name, x in cstream.read(images):
        if name != "x":
            continue
        x = torch.from_numpy((x.astype(np.float32) / np.float32(255) - mean) / std)
        logits.append(net.run(x, int(spont), int(stim))[0].numpy())
print("seconds %.3f" % (time.time() - t0))
np.save(out, np.concatenate(logits))
