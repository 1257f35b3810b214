"""foldcheck.py CNN FOLD BATCHES [N]: the BN CNN of the model CNN (eval mode)
and the folded CNN of the model FOLD, both in PyTorch in float64 (the
reference code of testdata/train/gen.py, not ours), on the first N batches
(default 2) of BATCHES (x f32, or u8 normalised with the stream's norm_mean
and norm_std): the folded logits within 1e-4 of the BN CNN's (worst.py),
and the BN CNN's accuracy on them printed."""
import os
import sys

import numpy as np
import torch

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
sys.path[:0] = [os.path.join(TOP, 'testdata', 'train'), os.path.join(TOP, 'testdata', 'model'),
                os.path.dirname(os.path.abspath(__file__))]
import cstream  # noqa: E402
import gen  # noqa: E402
import worst  # noqa: E402


def tensors(path):
    recs = cstream.read(path)
    meta = dict(l.split('=', 1) for r in recs if r[0] == 'meta' for l in r[1].splitlines() if '=' in l)
    return meta, {n: torch.from_numpy(np.asarray(v, np.float64)) for n, v in recs if n != 'meta'}


def main():
    cnn, fold, data = sys.argv[1:4]
    nb = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    meta, P = tensors(cnn)
    _, R = tensors(fold)
    assert meta['height'] == meta['width'], 'square inputs only'
    gen.D, gen.CIN, gen.HW, gen.NCLS = int(meta['depth']), int(meta['in_channels']), int(meta['height']), int(meta['classes'])
    gen.STEM, gen.SZ = gen.sizes()
    Q = {n: t for n, t in P.items() if n.startswith('bn_')}
    recs = cstream.read(data)
    dm = dict(l.split('=', 1) for r in recs if r[0] == 'meta' for l in r[1].splitlines() if '=' in l)
    xs = [v for n, v in recs if n == 'x'][:nb]
    ys = [v for n, v in recs if n == 'y'][:nb]
    x = np.concatenate(xs)
    if x.dtype == np.uint8:
        m = np.array([float(v) for v in dm['norm_mean'].split(',')])[None, :, None, None]
        s = np.array([float(v) for v in dm['norm_std'].split(',')])[None, :, None, None]
        x = (x / 255.0 - m) / s
    x = torch.from_numpy(np.asarray(x, np.float64))
    with torch.no_grad():
        le = gen.cnn_forward(P, Q, x, False)
        lf = gen.folded_logits(R, x)
    worst.check(lf.numpy(), le.numpy(), abs=1e-4, what='folded logits')
    if ys and ys[0].ndim == 1:
        y = np.concatenate(ys)
        print('BN CNN accuracy %.4f on %d images' % ((le.numpy().argmax(1) == y).mean(), len(y)), file=sys.stderr)


if __name__ == '__main__':
    main()
