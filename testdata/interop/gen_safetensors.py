#!/usr/bin/env python3
"""Safetensors files written by the safetensors library itself (PyPI
`safetensors`), not by hand as gen.py writes r2.safetensors: the reader is
tested against the layout the library chooses (tensors ordered by alignment,
then name; the header padded with spaces), every dtype cords reads, a 0-d
and an empty tensor, and __metadata__. Only this script needs the package:

  /usr/bin/python3 -m venv --system-site-packages /work/venv-tests
  /work/venv-tests/bin/pip install safetensors        # 0.8.0 made these
  /work/venv-tests/bin/python testdata/interop/gen_safetensors.py

Writes (the same bytes every run but for the order of __metadata__'s keys,
which the library keeps in a hash map):
  lib.safetensors   safetensors.torch.save_file of the tensors below
  lib.crc           "name crc32" of each tensor as little-endian f32 (as the *.crc of gen.py)
  lib.meta          the __metadata__ written, "key=value" a line
  ../fuzz/safetensors/seed-lib.safetensors   safetensors.numpy.save of a few arrays
"""
import os
import zlib

import numpy as np
import safetensors
import safetensors.numpy
import safetensors.torch
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
META = {"format": "pt", "source": "gen_safetensors.py", "note": 'a "quoted" \\ value'}


def tensors():
    g = torch.Generator().manual_seed(26)
    t = {}
    # values exact in every dtype they are stored in
    t["conv.weight"] = (torch.randint(-64, 65, (4, 3, 3, 3), generator=g) / 64.0).float()
    t["half"] = (torch.randint(-64, 65, (5,), generator=g) / 32.0).half()
    t["brain"] = (torch.randint(-64, 65, (2, 3), generator=g) / 16.0).bfloat16()
    t["double"] = torch.randn(2, 2, generator=g, dtype=torch.float64)
    t["steps"] = torch.tensor([0, -3, 1 << 40], dtype=torch.int64)
    t["i32"] = torch.tensor([7, -8], dtype=torch.int32)
    t["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    t["i8"] = torch.tensor([-128, 0, 127], dtype=torch.int8)
    t["u8"] = torch.tensor([[0, 255], [1, 128]], dtype=torch.uint8)
    t["mask"] = torch.tensor([True, False, True])
    t["scalar"] = torch.tensor(2.5)
    t["empty"] = torch.zeros(0, 3)
    return t


def main():
    t = tensors()
    safetensors.torch.save_file(t, os.path.join(HERE, "lib.safetensors"), metadata=META)
    with open(os.path.join(HERE, "lib.crc"), "w") as f:
        for n, x in t.items():
            b = x.to(torch.float64).numpy().astype("<f4").tobytes()
            f.write("%s %08x\n" % (n, zlib.crc32(b)))
    with open(os.path.join(HERE, "lib.meta"), "w") as f:
        f.write("".join("%s=%s\n" % kv for kv in META.items()))
    seed = os.path.join(HERE, "..", "fuzz", "safetensors", "seed-lib.safetensors")
    with open(seed, "wb") as f:
        f.write(safetensors.numpy.save({"w": np.arange(6, dtype=np.float32).reshape(2, 3),
                                        "b": np.array([1, 2], dtype=np.int64),
                                        "h": np.array([0.5], dtype=np.float16)}, metadata={"format": "np"}))
    print("safetensors", safetensors.__version__)


if __name__ == "__main__":
    main()
