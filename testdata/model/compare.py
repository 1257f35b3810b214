#!/usr/bin/python3
"""compare.py OUT CASE [--every K] [--names a,b] [--concat]: the records of
cords-infer's output OUT against the PyTorch case file, within 1e-4 relative
and 1e-5 absolute. Time series in CASE hold every step; OUT's every K-th.
--concat joins OUT's batches (logits only) before comparing."""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cstream  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("case")
ap.add_argument("--every", type=int, default=1)
ap.add_argument("--names", default="logits")
ap.add_argument("--concat", action="store_true")
a = ap.parse_args()
out, case = cstream.read(a.out), dict(cstream.read(a.case))
bad = 0
for name in a.names.split(","):
    have = [v for n, v in out if n == name]
    if not have:
        print("%s: missing in output" % name)
        bad = 1
        continue
    have, want = np.concatenate(have) if a.concat else have[0], case[name]
    if name != "logits":
        want = want[a.every - 1::a.every]
    if have.shape != want.shape:
        print("%s: shape %s, expected %s" % (name, have.shape, want.shape))
        bad = 1
        continue
    err = np.abs(have.astype(np.float64) - want) / (1e-5 + 1e-4 * np.abs(want))
    print("%s: worst %.3g x tolerance" % (name, err.max()))
    bad |= not err.max() <= 1
sys.exit(bad)
