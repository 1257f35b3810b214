#!/usr/bin/python3
"""The literal PyTorch implementation of one stage-5 (anneal) training step of cords-training(7): CordsNet-R{D}
(weight norm, synchronous dynamics, PReLU slope 0.5), spontaneous phase without gradient, stimulus
phase with 30 read-outs (time-weighted CE), blank phase with the spont penalty (1e-3), backward
through all of it, AdamW step with clipping. Also writes the same model and batch as cords
streams so cords-anneal runs the same step.
Usage: torch_step.py DIR [--depth 8] [--size 224] [--batch 2] [--spont 100] [--stim 100] [--blank 100] [--write-only]"""
import argparse, os, struct, subprocess, time, resource
import numpy as np, torch, torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('dir'); ap.add_argument('--depth', type=int, default=8); ap.add_argument('--size', type=int, default=224)
ap.add_argument('--batch', type=int, default=2); ap.add_argument('--classes', type=int, default=1000)
ap.add_argument('--spont', type=int, default=100); ap.add_argument('--stim', type=int, default=100)
ap.add_argument('--blank', type=int, default=100); ap.add_argument('--readouts', type=int, default=30)
ap.add_argument('--window', type=int, default=10); ap.add_argument('--write-only', action='store_true')
ap.add_argument('--repeat', type=int, default=1)
A = ap.parse_args()
torch.set_num_threads(2); torch.manual_seed(0)
CH = [64, 64, 64, 128, 128, 256, 256, 512, 512]; ST = [1, 1, 2, 1, 2, 1, 2, 1]; SK = [64, 128, 256, 512]
D, ALPHA, SLOPE, WN = A.depth, 0.2, 0.5, '.parametrizations.weight.original'
n = (A.size + 6 - 7) // 2 + 1; n = (n + 2 - 3) // 2 + 1; SZ = []
for i in range(D):
    if ST[i] == 2: n = (n - 1) // 2 + 1
    SZ.append(n)

def wn(P, base, shape):
    v = (torch.rand(shape) * 2 - 1) / np.sqrt(np.prod(shape[1:])); P[base + WN + '1'] = v
    P[base + WN + '0'] = v.flatten(1).norm(dim=1).view([shape[0]] + [1] * (len(shape) - 1)).clone()
P = {}
wn(P, 'inp_conv', [64, 3, 7, 7]); wn(P, 'inp_skip', [64, 64, 3, 3])
for i in range(D):
    wn(P, 'area_conv.%d' % i, [CH[i + 1], CH[i + 1], 3, 3]); P['conv_bias.%d' % i] = torch.zeros(CH[i + 1], SZ[i], SZ[i])
    wn(P, 'area_area.%d' % i, [CH[i + 1], CH[i], 3, 3])
for k in range(D // 2 - 1): wn(P, 'skip_area.%d' % k, [SK[k + 1], SK[k], 1, 1])
wn(P, 'out_fc', [A.classes, CH[D]]); P['out_fc.bias'] = torch.zeros(A.classes)
x = torch.randn(A.batch, 3, A.size, A.size); y = torch.randint(0, A.classes, (A.batch,))

def record(name, a):
    a = np.ascontiguousarray(a); code = 11 if a.dtype.kind == 'U' else {np.dtype('float32'): 1, np.dtype('int64'): 9}[a.dtype]
    data = a.tobytes(); nb = name.encode()
    raw = b'CRD1' + struct.pack('<BBH', code, a.ndim, len(nb)) + b''.join(struct.pack('<Q', s) for s in a.shape) + nb + data
    return subprocess.run(['zstd', '-q', '-1', '-c', '--stream-size=%d' % len(raw)], input=raw, stdout=subprocess.PIPE, check=True).stdout
def text(name, s):
    b = s.encode(); nb = name.encode()
    raw = b'CRD1' + struct.pack('<BBH', 11, 1, len(nb)) + struct.pack('<Q', len(b)) + nb + b
    return subprocess.run(['zstd', '-q', '-1', '-c', '--stream-size=%d' % len(raw)], input=raw, stdout=subprocess.PIPE, check=True).stdout
os.makedirs(A.dir, exist_ok=True)
with open(os.path.join(A.dir, 'model.tzst'), 'wb') as f:
    f.write(text('meta', 'format=cords-model\ndepth=%d\nin_channels=3\nheight=%d\nwidth=%d\nclasses=%d\n' % (D, A.size, A.size, A.classes)))
    for k, v in P.items(): f.write(record(k, v.numpy()))
with open(os.path.join(A.dir, 'batch.tzst'), 'wb') as f:
    f.write(record('x', x.numpy())); f.write(record('y', y.numpy().astype(np.int64)))
with open(os.path.join(A.dir, 'cords.args'), 'w') as f:  # the same protocol as cords-anneal options
    f.write('--spont-steps %d --stim-steps %d --blank-steps %d --readouts %d --spont-window %d\n'
            % (A.spont, A.stim, A.blank, A.readouts, A.window))
if A.write_only: raise SystemExit

P = {k: v.requires_grad_(True) for k, v in P.items()}
def W(b): g, v = P[b + WN + '0'], P[b + WN + '1']; return g * v / v.flatten(1).norm(dim=1).view([-1] + [1] * (v.dim() - 1))
def conv(b, t, s=1, p=1): return F.conv2d(t, W(b), stride=s, padding=p)
def step(r, p):
    new = []
    for i in range(D):
        if i == 0: u = p
        elif i == 1: u = F.relu(r[0]) + (conv('inp_skip', p) if p is not None else 0)
        elif i % 2 == 0: u = F.relu(r[i - 1]) + F.relu(r[i - 2])
        else: u = F.relu(r[i - 1]) + conv('skip_area.%d' % ((i - 3) // 2), F.relu(r[i - 2]), 2, 0)
        z = conv('area_conv.%d' % i, r[i]) + P['conv_bias.%d' % i] + (conv('area_area.%d' % i, u, ST[i]) if u is not None else 0)
        new.append((1 - ALPHA) * r[i] + ALPHA * (F.relu(z) + SLOPE * torch.clamp(z, max=0)))
    return new
def readout(r): return F.linear((F.relu(r[-1]) + F.relu(r[-2])).mean((2, 3)), W('out_fc'), P['out_fc.bias'])
opt = torch.optim.AdamW(P.values(), lr=1e-5)
def one_step():
    global r
    t0 = time.time()
    with torch.no_grad():
        r = [torch.zeros(1, CH[i + 1], SZ[i], SZ[i]) for i in range(D)]
        for _ in range(A.spont): r = step(r, None)
    base = [t.detach() for t in r]; r = [t.expand(A.batch, -1, -1, -1) for t in base]
    p = F.avg_pool2d(conv('inp_conv', x, 2, 3), 3, 2, 1); outs = []
    for t in range(A.stim):
        r = step(r, p)
        if t >= A.stim - A.readouts: outs.append(readout(r))
    ramp = torch.logspace(-3, 0, A.readouts)
    loss = (ramp * torch.stack([F.cross_entropy(o, y) for o in outs])).mean(); sp = 0
    for t in range(A.blank):
        r = step(r, None)
        if t >= A.blank - A.window: sp = sp + sum(((r[j] - base[j]) ** 2).mean() for j in range(D))
    loss = loss + 1e-3 * sp / (A.window * D)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(P.values(), 1e-4); opt.step()
    dt = time.time() - t0
    return dt, loss
times = []
for k in range(A.repeat):
    dt, l = one_step(); times.append(dt)
    loss = l if k == 0 else loss  # the first step's: the one cords's log shows
dt = min(times)
if A.repeat > 1:
    print('torch: steps %s s' % ' '.join('%.2f' % t for t in times))
print('torch: one step (fastest) %.2f s (%.3f images/s), peak RSS %.0f MiB, loss %.6f' % (dt, A.batch / dt,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, loss.item()))
