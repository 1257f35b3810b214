#!/usr/bin/python3
"""Fixtures for the training code: cords-training(7) in plain torch (float64), one training step per stage
on a tiny CordsNet-R4 (1 input channel, 12x12 input: areas 3,3,2,2, so stride-2 borders, the skip
conv and the stem-bias border effect are all exercised), plus small op-level fixtures.

Run: /usr/bin/python3 testdata/train/gen.py testdata/train
Writes cords streams (man 5 cords-stream; one zstd frame per record, made with the zstd CLI):
  params.tzst   the shared RNN parameters (a cords model file; values on a coarse grid so they
                compress and are exact in f32)
  cnn.tzst fold.tzst inverse.tzst linear.tzst anneal.tzst finetune.tzst   one stage each
  finetune-window.tzst   the finetune step back-propagated through its last 6 steps only
  finetune-long.tzst     a finetune step back-propagated through 60 steps (stimulus 50, blank 10;
                the long horizon where errors accumulate), alone: gen.py DIR long
  ops.tzst      AdamW, SGD + warm-up, clipping, BatchNorm against torch (float32)
  batches.tzst  a tiny batch stream for the command-line tests (bad_size, huge: bad ones)
Each stage file: `meta` (stage, protocol), its inputs (x, y, extra tensors), and its outputs:
`loss`, `grad.NAME` for every trained parameter. Gradients of tensors with more than 8192
elements are stored as a sample: elements (k * n) // 2048 for k = 0..2047, plus their full L2
norm as `gnorm.NAME` (f64 [1]); smaller ones are stored whole."""
import os, struct, subprocess, sys
import numpy as np, torch, torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
CH = [64, 64, 64, 128, 128, 256, 256, 512, 512]; ST = [1, 1, 2, 1, 2, 1, 2, 1]; SK = [64, 128, 256, 512]
D, CIN, HW, NCLS, B, ALPHA = 4, 1, 12, 10, 3, 0.2
SAMPLE, SMALL = 2048, 8192
WN = '.parametrizations.weight.original'
gen = torch.Generator().manual_seed(1234)

# ---- cords stream writer
DT = {np.dtype('float32'): 1, np.dtype('float64'): 2, np.dtype('uint8'): 5, np.dtype('int64'): 9}
def record(name, a):
    if isinstance(a, str):
        data, code, shape = a.encode(), 11, [len(a.encode())]
    else:
        a = np.ascontiguousarray(a); data, code, shape = a.tobytes(), DT[a.dtype], list(a.shape)
    nb = name.encode()
    raw = b'CRD1' + struct.pack('<BBH', code, len(shape), len(nb)) + b''.join(struct.pack('<Q', s) for s in shape) + nb + data
    return subprocess.run(['zstd', '-q', '-19', '-c', '--stream-size=%d' % len(raw)], input=raw,
                          stdout=subprocess.PIPE, check=True).stdout
def write(path, recs):
    with open(os.path.join(OUT, path), 'wb') as f:
        for name, a in recs: f.write(record(name, a))
def f32(t): return t.detach().to(torch.float32).numpy()
def meta(**kw): return '\n'.join('%s=%s' % kv for kv in kw.items()) + '\n'

# ---- sizes and parameters (cords-model(7) names and order)
def sizes():
    n = (HW + 6 - 7) // 2 + 1; stem = n; n = (n + 2 - 3) // 2 + 1; out = []
    for i in range(D):
        if ST[i] == 2: n = (n - 1) // 2 + 1
        out.append(n)
    return stem, out
STEM, SZ = sizes()
def grid(shape, bound, levels=32):
    """Uniform in [-bound, bound] on a grid of 2*levels+1 values (exact in f32)."""
    k = torch.randint(-levels, levels + 1, shape, generator=gen).to(torch.float64)
    return (k * (bound / levels)).to(torch.float32).to(torch.float64)
def wn_pair(P, base, shape):
    fan = int(np.prod(shape[1:])); v = grid(shape, 1 / fan ** 0.5)
    g = v.flatten(1).norm(dim=1) * (0.75 + 0.5 * torch.rand(shape[0], generator=gen))
    g = (torch.round(g * 1024) / 1024).view([shape[0]] + [1] * (len(shape) - 1))
    P[base + WN + '0'] = g; P[base + WN + '1'] = v
def make_params():
    P = {}
    wn_pair(P, 'inp_conv', [64, CIN, 7, 7]); wn_pair(P, 'inp_skip', [64, 64, 3, 3])
    for i in range(D):
        c = CH[i + 1]
        wn_pair(P, 'area_conv.%d' % i, [c, c, 3, 3])
        P['conv_bias.%d' % i] = grid([c, SZ[i], SZ[i]], 0.1, 16)
        wn_pair(P, 'area_area.%d' % i, [c, CH[i], 3, 3])
    for k in range(D // 2 - 1): wn_pair(P, 'skip_area.%d' % k, [SK[k + 1], SK[k], 1, 1])
    wn_pair(P, 'out_fc', [NCLS, CH[D]]); P['out_fc.bias'] = grid([NCLS], 0.1, 16)
    return P
def W(P, base):
    g, v = P[base + WN + '0'], P[base + WN + '1']
    return g * v / v.flatten(1).norm(dim=1).view([-1] + [1] * (v.dim() - 1))
def conv(P, base, x, stride=1, pad=1): return F.conv2d(x, W(P, base), stride=stride, padding=pad)
def stem(P, x): return conv(P, 'inp_conv', x, 2, 3)
def pool(x): return F.avg_pool2d(x, 3, 2, 1)  # zero padding counted in the mean
def fc(P, h): return F.linear(h, W(P, 'out_fc'), P['out_fc.bias'])

# ---- the RNN (cords-model(7))
def phi_of(z, phi, slope):
    if phi == 'identity': return z
    if phi == 'relu': return F.relu(z)
    return F.relu(z) + slope * torch.clamp(z, max=0)
# Smallest nonzero |z| / max |z| over the pre-activations of the current rnn_loss. A z within f32
# rounding of phi's kink takes either side depending on the summation order (cuDNN's differs from
# oneDNN's), and with ReLU a state exactly 0 or just above it then passes the read-out's gradient or
# not: a 0.5% gradient difference from one element. The fixtures keep a margin well above f32 rounding.
KINK = [1.0]
def step(P, r, p, phi, slope):
    new = []
    for i in range(D):
        if i == 0: u = p
        elif i == 1: u = F.relu(r[0]) + conv(P, 'inp_skip', p)
        elif i % 2 == 0: u = F.relu(r[i - 1]) + F.relu(r[i - 2])
        else: u = F.relu(r[i - 1]) + conv(P, 'skip_area.%d' % ((i - 3) // 2), F.relu(r[i - 2]), 2, 0)
        z = conv(P, 'area_conv.%d' % i, r[i]) + P['conv_bias.%d' % i] + conv(P, 'area_area.%d' % i, u, ST[i])
        nz = z.detach().abs()[z != 0]
        if nz.numel(): KINK[0] = min(KINK[0], (nz.min() / nz.max()).item())
        new.append((1 - ALPHA) * r[i] + ALPHA * phi_of(z, phi, slope))
    return new
def readout(P, r): return fc(P, (F.relu(r[-1]) + F.relu(r[-2])).mean((2, 3)))
def ce(logits, y): return F.cross_entropy(logits, y)  # y: class indices or probabilities
def rnn_loss(P, x, y, phi, slope, spont, stim, reads, blank, window, spont_w, detach_after=0):
    """Time-weighted loss (cords-training(7)): spontaneous phase without gradient, stimulus phase with
    `reads` read-outs at its end, then a blank phase whose last `window` steps give `spont`.
    detach_after=s > 0: the states up to step s (1-based over stimulus and blank) are constants,
    as cords' --bptt-window makes them: read-outs there reach the read-out layer alone."""
    cut = lambda r, t: [u.detach() for u in r] if t <= detach_after else r
    zero = lambda b: [torch.zeros(b, CH[i + 1], SZ[i], SZ[i]) for i in range(D)]
    KINK[0] = 1.0
    with torch.no_grad():
        r = zero(1); p0 = torch.zeros(1, 64, SZ[0], SZ[0])
        for _ in range(spont): r = step(P, r, p0, phi, slope)
    base = [t.detach() for t in r]; r = [t.expand(len(x), -1, -1, -1) for t in base]
    p = pool(stem(P, x)); outs = []
    for t in range(stim):
        r = cut(step(P, r, p, phi, slope), t + 1)
        if t >= stim - reads: outs.append(readout(P, r))
    ramp = torch.logspace(-3, 0, reads)
    cel = torch.stack([ce(o, y) for o in outs]); loss = (ramp * cel).mean(); sp = torch.zeros(())
    if blank:
        pb = torch.zeros_like(p)
        for t in range(blank):
            r = cut(step(P, r, pb, phi, slope), stim + t + 1)
            if t >= blank - window: sp = sp + sum(((r[j] - base[j]) ** 2).mean() for j in range(D))
        sp = sp / (window * D); loss = loss + spont_w * sp
    return loss, cel, sp, outs[-1]

# ---- the BN CNN (cords-training(7), stage 1); BN tensor names are the cords names (man cords-cnn)
def bn_names():
    out = [('bn_inp', 64)]
    for i in range(D): out += [('bn_area_area.%d' % i, CH[i + 1]), ('bn_area_conv.%d' % i, CH[i + 1])]
    return out + [('bn_skip_area.%d' % k, SK[k + 1]) for k in range(D // 2 - 1)]
def make_bn():
    Q = {}
    for n, c in bn_names():
        Q[n + '.weight'] = 1 + grid([c], 0.5, 16); Q[n + '.bias'] = grid([c], 0.5, 16)
        Q[n + '.running_mean'] = grid([c], 0.5, 16); Q[n + '.running_var'] = 1 + grid([c], 0.5, 16)
    return Q
def bn(Q, n, x, train):
    return F.batch_norm(x, Q[n + '.running_mean'], Q[n + '.running_var'], Q[n + '.weight'], Q[n + '.bias'],
                        training=train, momentum=0.1, eps=1e-5)
def cnn_forward(P, Q, x, train):
    p = pool(bn(Q, 'bn_inp', stem(P, x), train)); xs = []
    for i in range(D):
        if i == 0: u = p
        elif i == 1: u = xs[0] + conv(P, 'inp_skip', p)
        elif i % 2 == 0: u = xs[i - 1] + xs[i - 2]
        else: k = (i - 3) // 2; u = xs[i - 1] + bn(Q, 'bn_skip_area.%d' % k, conv(P, 'skip_area.%d' % k, xs[i - 2], 2, 0), train)
        a = bn(Q, 'bn_area_area.%d' % i, conv(P, 'area_area.%d' % i, u, ST[i]), train)
        xs.append(F.relu(bn(Q, 'bn_area_conv.%d' % i, conv(P, 'area_conv.%d' % i, a), train)))
    return fc(P, (xs[-1] + xs[-2]).mean((2, 3)))

# ---- fold (cords-training(7), stage 2)
def fold(P, Q):
    """Folded model: every conv of the CNN with BN scaled in (g' = g*gamma/sqrt(var+eps), v' = v/||v||),
    per-unit biases area_bias.i (after area_area.i) and conv_bias.i (after area_conv.i)."""
    R = {k: v.clone() for k, v in P.items() if not k.startswith('conv_bias')}
    def scale(base, n):
        s = Q[n + '.weight'] / torch.sqrt(Q[n + '.running_var'] + 1e-5)
        v = P[base + WN + '1']; nv = v.flatten(1).norm(dim=1).view([-1] + [1] * (v.dim() - 1))
        R[base + WN + '0'] = P[base + WN + '0'] * s.view_as(P[base + WN + '0']); R[base + WN + '1'] = v / nv
        return Q[n + '.bias'] - Q[n + '.running_mean'] * s
    bi = scale('inp_conv', 'bn_inp')
    for i in range(D):
        b = scale('area_area.%d' % i, 'bn_area_area.%d' % i); R['area_bias.%d' % i] = b.view(-1, 1, 1).expand(-1, SZ[i], SZ[i]).clone()
        b = scale('area_conv.%d' % i, 'bn_area_conv.%d' % i); R['conv_bias.%d' % i] = b.view(-1, 1, 1).expand(-1, SZ[i], SZ[i]).clone()
    for k in range(D // 2 - 1):
        b = scale('skip_area.%d' % k, 'bn_skip_area.%d' % k); i = 3 + 2 * k
        R['area_bias.%d' % i] += conv(R, 'area_area.%d' % i, b.view(1, -1, 1, 1).expand(1, -1, SZ[i - 1], SZ[i - 1]), ST[i])[0]
    pb = pool(bi.view(1, -1, 1, 1).expand(1, -1, STEM, STEM))
    R['area_bias.0'] += conv(R, 'area_area.0', pb)[0]
    R['area_bias.1'] += conv(R, 'area_area.1', conv(R, 'inp_skip', pb))[0]
    return R
def folded_acts(R, x):
    """Post-ReLU activities x_i of the folded CNN and the u_i, f_i that feed them."""
    p = pool(stem(R, x)); xs, us, fs = [], [], []
    for i in range(D):
        if i == 0: u = p
        elif i == 1: u = xs[0] + conv(R, 'inp_skip', p)
        elif i % 2 == 0: u = xs[i - 1] + xs[i - 2]
        else: u = xs[i - 1] + conv(R, 'skip_area.%d' % ((i - 3) // 2), xs[i - 2], 2, 0)
        f = conv(R, 'area_area.%d' % i, u, ST[i])
        xs.append(F.relu(conv(R, 'area_conv.%d' % i, f + R['area_bias.%d' % i]) + R['conv_bias.%d' % i]))
        us.append(u); fs.append(f)
    return xs, us, fs
def folded_logits(R, x): xs = folded_acts(R, x)[0]; return fc(R, (xs[-1] + xs[-2]).mean((2, 3)))

# ---- inverse (cords-training(7), stage 3): only the RNN's area_conv and conv_bias
def inverse_loss(R, A, x):
    """R: folded CNN; A: the RNN's area_conv.i g/v and conv_bias.i."""
    with torch.no_grad():
        xs, us, fs = folded_acts(R, x)
        tg = [conv(R, 'area_conv.%d' % i, fs[i] + R['area_bias.%d' % i]) + R['conv_bias.%d' % i] for i in range(D)]
    err = 0; eig = 0
    for i in range(D):
        s0 = A['conv_bias.%d' % i] + fs[i]; s = s0; s2 = s0
        for _ in range(3): s = conv(A, 'area_conv.%d' % i, s) + A['conv_bias.%d' % i] + fs[i]; s2 = conv(A, 'area_conv.%d' % i, s2)
        err = err + F.mse_loss(s, tg[i]); eig = eig + (s2 ** 2).mean()
    return err / D + 10 * eig / D, err / D, eig / D

# ---- saving gradients
def grads(P, names):
    out = []
    for n in names:
        g = P[n].grad.flatten()
        if g.numel() > SMALL:
            idx = (torch.arange(SAMPLE) * g.numel()) // SAMPLE
            out += [('grad.' + n, f32(g[idx])), ('gnorm.' + n, np.array([g.norm().item()]))]
        else:
            out.append(('grad.' + n, f32(P[n].grad)))
    return out
def leaf(T):
    return {k: v.clone().requires_grad_(True) for k, v in T.items()}
def arch_meta(stage, **kw):
    return meta(format='cords-model', depth=D, in_channels=CIN, height=HW, width=HW, classes=NCLS, stage=stage, **kw)

def main():
    os.makedirs(OUT, exist_ok=True)
    P0 = make_params(); Q0 = make_bn()
    order = list(P0.keys())
    write('params.tzst', [('meta', arch_meta('init'))] + [(n, f32(P0[n])) for n in order])
    x = (torch.randint(-16, 17, (B, CIN, HW, HW), generator=gen) / 8.0)
    y = torch.randint(0, NCLS, (B,), generator=gen)
    lam = torch.randint(1, 16, (B,), generator=gen) / 16.0
    ysoft = lam[:, None] * F.one_hot(y, NCLS) + (1 - lam[:, None]) * F.one_hot(y.roll(1), NCLS)
    xin = [('x', f32(x)), ('y', y.numpy().astype(np.int64))]
    xsoft = [('x', f32(x)), ('y', f32(ysoft))]

    # 1. BN CNN, train mode, one step of the loss (hard labels)
    conv_names = [n for n in order if not n.startswith('conv_bias')]
    P = leaf({n: P0[n] for n in conv_names}); Q = {k: v.clone() for k, v in Q0.items()}
    for n in Q:
        if not n.endswith('running_mean') and not n.endswith('running_var'): Q[n].requires_grad_(True)
    logits = cnn_forward(P, Q, x, True); loss = ce(logits, y); loss.backward()
    trained = [n for n in Q if Q[n].requires_grad]
    recs = [('meta', meta(stage='cnn', loss='ce'))] + xin + [(n, f32(Q0[n])) for n in Q0]
    recs += [('loss', np.array([loss.item()])), ('logits', f32(logits))]
    recs += grads(P, conv_names) + grads(Q, trained)
    recs += [('new.' + n, f32(Q[n])) for n in Q if 'running' in n]
    write('cnn.tzst', recs)

    # 2. fold: folded tensors and the BN CNN's eval logits
    R = fold(P0, Q0)
    with torch.no_grad():
        le = cnn_forward(P0, {k: v.clone() for k, v in Q0.items()}, x, False); lf = folded_logits(R, x)
    assert (le - lf).abs().max() < 1e-10, (le - lf).abs().max()
    recs = [('meta', meta(stage='fold'))] + xin + [(n, f32(Q0[n])) for n in Q0] + [('logits', f32(le))]
    for n in R:
        t = R[n].flatten()
        if t.numel() > SMALL:
            idx = (torch.arange(SAMPLE) * t.numel()) // SAMPLE
            recs += [('folded.' + n, f32(t[idx])), ('fnorm.' + n, np.array([t.norm().item()]))]
        else:
            recs.append(('folded.' + n, f32(R[n])))
    write('fold.tzst', recs)

    # 3. inverse: the folded CNN is params.tzst read as folded weights plus area_bias.i and the
    # CNN's conv_bias.i given here; the RNN's area_conv starts as params' area_conv flipped along
    # the output channels with g halved, its conv_bias as given here.
    Rf = {k: v for k, v in P0.items()}
    extra = {}
    for i in range(D):
        extra['area_bias.%d' % i] = grid([CH[i + 1], SZ[i], SZ[i]], 0.2, 16)
        extra['cnn_conv_bias.%d' % i] = grid([CH[i + 1], SZ[i], SZ[i]], 0.2, 16)
        extra['rnn_conv_bias.%d' % i] = grid([CH[i + 1], SZ[i], SZ[i]], 0.05, 16)
        Rf['area_bias.%d' % i] = extra['area_bias.%d' % i]; Rf['conv_bias.%d' % i] = extra['cnn_conv_bias.%d' % i]
    A = {}
    for i in range(D):
        b = 'area_conv.%d' % i
        A[b + WN + '0'] = P0[b + WN + '0'].flip(0) * 0.5; A[b + WN + '1'] = P0[b + WN + '1'].flip(0)
        A['conv_bias.%d' % i] = extra['rnn_conv_bias.%d' % i]
    A = leaf(A); loss, err, eig = inverse_loss(Rf, A, x); loss.backward()
    recs = [('meta', meta(stage='inverse', iterations=3, eig_weight=10))] + xin + [(n, f32(t)) for n, t in extra.items()]
    recs += [('loss', np.array([loss.item()])), ('fit', np.array([err.item()])), ('eig', np.array([eig.item()]))]
    write('inverse.tzst', recs + grads(A, list(A.keys())))

    # 4-6. RNN stages on params.tzst
    stages = [('linear', 'identity', 0.0, 0, 6, 3, 0, 0, 0.0, xsoft),
              ('anneal', 'prelu', 0.35, 4, 6, 3, 5, 2, 1.0, xin),
              ('finetune', 'relu', 0.0, 5, 6, 3, 5, 2, 1e-3, xsoft)]  # 4 spont steps: a z at 2e-8 (KINK)
    for name, phi, slope, sp, stim, reads, blank, window, sw, xy in stages:
        P = leaf(P0); yy = ysoft if xy is xsoft else y
        loss, cel, spv, last = rnn_loss(P, x, yy, phi, slope, sp, stim, reads, blank, window, sw)
        loss.backward()
        assert phi == 'identity' or KINK[0] > 1e-6, (name, KINK[0])
        m = meta(stage=name, phi=phi, prelu_slope=slope, alpha=ALPHA, spont_steps=sp, stim_steps=stim,
                 readouts=reads, blank_steps=blank, spont_window=window, spont_weight=sw)
        recs = [('meta', m)] + xy + [('loss', np.array([loss.item()])), ('ce', f32(cel)),
                                     ('spont', np.array([spv.item()])), ('logits', f32(last))]
        write(name + '.tzst', recs + grads(P, order))
    # finetune back-propagated through its last 6 of 11 steps only (--bptt-window 6): the states
    # up to step 5 constants; of the read-outs at steps 4, 5, 6 the first two reach the read-out
    # layer's gradient alone
    P = leaf(P0)
    loss, cel, spv, last = rnn_loss(P, x, ysoft, 'relu', 0.0, 5, 6, 3, 5, 2, 1e-3, detach_after=5)
    loss.backward()
    m = meta(stage='finetune', phi='relu', prelu_slope=0.0, alpha=ALPHA, spont_steps=5, stim_steps=6, readouts=3,
             blank_steps=5, spont_window=2, spont_weight=1e-3, bptt_window=6)
    recs = [('meta', m)] + xsoft + [('loss', np.array([loss.item()])), ('ce', f32(cel)),
                                    ('spont', np.array([spv.item()])), ('logits', f32(last))]
    write('finetune-window.tzst', recs + grads(P, order))
    ops()
    batches()
    long_stage()

def long_stage():
    """finetune-long.tzst: params.tzst's model and inputs (made again from the seed), 10 spontaneous
    steps, then 50 stimulus and 10 blank steps, every one back-propagated."""
    gen.manual_seed(1234)
    P0 = make_params(); make_bn()
    x = (torch.randint(-16, 17, (B, CIN, HW, HW), generator=gen) / 8.0)
    y = torch.randint(0, NCLS, (B,), generator=gen)
    lam = torch.randint(1, 16, (B,), generator=gen) / 16.0
    ysoft = lam[:, None] * F.one_hot(y, NCLS) + (1 - lam[:, None]) * F.one_hot(y.roll(1), NCLS)
    P = leaf(P0)
    loss, cel, spv, last = rnn_loss(P, x, ysoft, 'relu', 0.0, 10, 50, 3, 10, 2, 1e-3)
    loss.backward()
    assert KINK[0] > 1e-6, KINK[0]
    m = meta(stage='finetune', phi='relu', prelu_slope=0.0, alpha=ALPHA, spont_steps=10, stim_steps=50, readouts=3,
             blank_steps=10, spont_window=2, spont_weight=1e-3)
    recs = [('meta', m), ('x', f32(x)), ('y', f32(ysoft)), ('loss', np.array([loss.item()])), ('ce', f32(cel)),
            ('spont', np.array([spv.item()])), ('logits', f32(last))]
    write('finetune-long.tzst', recs + grads(P, list(P0.keys())))

def batches():
    """batches.tzst: 6 batches of 4 u8 12x12 images with class labels (for the command-line tests)."""
    g = torch.Generator().manual_seed(11); recs = [('meta', meta(dataset='tiny', norm_mean=0.5, norm_std=0.25))]
    for _ in range(6):
        recs += [('x', torch.randint(0, 256, (4, CIN, HW, HW), generator=g).to(torch.uint8).numpy()),
                 ('y', torch.randint(0, NCLS, (4,), generator=g).numpy().astype(np.int64))]
    write('batches.tzst', recs)
    write('bad_size.tzst', [('x', np.zeros((2, CIN, 10, 10), np.uint8)), ('y', np.zeros(2, np.int64))])
    write('huge.tzst', [('x', np.full((2, CIN, HW, HW), 3e38, np.float32)), ('y', np.zeros(2, np.int64))])

def ops():
    """Optimisers, schedule, clipping and BatchNorm in float32 as torch computes them."""
    torch.set_default_dtype(torch.float32); g = torch.Generator().manual_seed(7); recs = []
    p0 = torch.randn(37, generator=g); gs = [torch.randn(37, generator=g) for _ in range(3)]
    recs += [('p0', p0.numpy())] + [('g%d' % k, t.numpy()) for k, t in enumerate(gs)]
    p = p0.clone().requires_grad_(True); opt = torch.optim.AdamW([p], lr=1e-2)
    for k in range(3):
        p.grad = gs[k].clone(); opt.step(); recs.append(('adamw%d' % k, p.detach().numpy().copy()))
    p = p0.clone().requires_grad_(True); opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=1e-4)
    sch = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / 3, total_iters=100)
    for k in range(3):
        p.grad = gs[k].clone(); opt.step(); sch.step(); recs.append(('sgd%d' % k, p.detach().numpy().copy()))
    a = torch.randn(5, 3, generator=g).requires_grad_(True); b = torch.randn(4, generator=g).requires_grad_(True)
    a.grad = torch.randn(5, 3, generator=g); b.grad = torch.randn(4, generator=g)
    recs += [('clip_in_a', a.grad.numpy().copy()), ('clip_in_b', b.grad.numpy().copy())]
    n = torch.nn.utils.clip_grad_norm_([a, b], 0.5)
    recs += [('clip_norm', np.array([n.item()])), ('clip_a', a.grad.numpy()), ('clip_b', b.grad.numpy())]
    x = torch.randn(3, 5, 4, 2, generator=g).requires_grad_(True)
    w = torch.randn(5, generator=g).requires_grad_(True); bb = torch.randn(5, generator=g).requires_grad_(True)
    rm = torch.randn(5, generator=g); rv = torch.rand(5, generator=g) + 0.5
    recs += [('bn_x', x.detach().numpy().copy()), ('bn_w', w.detach().numpy().copy()), ('bn_b', bb.detach().numpy().copy()),
             ('bn_rm', rm.numpy().copy()), ('bn_rv', rv.numpy().copy())]
    yv = F.batch_norm(x, rm, rv, w, bb, training=True, momentum=0.1, eps=1e-5)
    dy = torch.randn(yv.shape, generator=g); yv.backward(dy)
    recs += [('bn_dy', dy.numpy()), ('bn_y', yv.detach().numpy()), ('bn_new_rm', rm.numpy()), ('bn_new_rv', rv.numpy()),
             ('bn_dx', x.grad.numpy()), ('bn_dw', w.grad.numpy()), ('bn_db', bb.grad.numpy())]
    write('ops.tzst', recs)

if __name__ == '__main__':
    long_stage() if sys.argv[2:] == ['long'] else main()
