#!/usr/bin/python3
"""compare.py OUT CASE [--every K] [--names a,b] [--concat]: the records of
cords-infer's output OUT against the PyTorch case file, within 1e-4 relative
and 1e-5 absolute (test/cli/worst.py: a NaN or Inf fails). Time series in
CASE hold every step; OUT's every K-th. --concat joins OUT's batches (logits
only) before comparing."""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "cli"))
import cstream  # noqa: E402
import worst  # noqa: E402

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
    err, i = worst.error(have, want, rel=1e-4, abs=1e-5)
    print(worst.describe(have, want, err, i, name) if i is not None else "%s: empty" % name)
    bad |= not err <= 1
sys.exit(bad)
