"""CordsNet-R{D} in plain PyTorch, written literally from cords-model(7), step by
step: the reference the C model is tested and benchmarked against."""
import math

import torch
import torch.nn.functional as F

CH = [64, 64, 64, 128, 128, 256, 256, 512, 512]
STRIDE = [1, 1, 2, 1, 2, 1, 2, 1]
SKIP = [64, 128, 256, 512]
WN = ".parametrizations.weight.original"


def conv_out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def area_sizes(depth, h, w):
    h, w = conv_out(conv_out(h, 7, 2, 3), 3, 2, 1), conv_out(conv_out(w, 7, 2, 3), 3, 2, 1)
    out = []
    for i in range(depth):
        if STRIDE[i] == 2:
            h, w = conv_out(h, 3, 2, 1), conv_out(w, 3, 2, 1)
        out.append((h, w))
    return out


def init_params(depth, cin, h, w, classes, gen, bias_std=0.0, g_jitter=0.0):
    """Parameters under the cords-model(7) names: v as PyTorch's default init (uniform,
    bound 1/sqrt(fan_in)), g = ||v|| (times 1 + jitter), conv_bias N(0, bias_std)."""
    p = {}

    def wn(base, out, inp, k):
        fan = inp * k * k
        v = (torch.rand(out, inp, k, k, generator=gen) * 2 - 1) / math.sqrt(fan)
        g = v.flatten(1).norm(dim=1).reshape(out, 1, 1, 1)
        g = g * (1 + g_jitter * (torch.rand(out, 1, 1, 1, generator=gen) * 2 - 1))
        p[base + WN + "0"], p[base + WN + "1"] = g, v

    wn("inp_conv", 64, cin, 7)
    wn("inp_skip", 64, 64, 3)
    sizes = area_sizes(depth, h, w)
    for i in range(depth):
        c = CH[i + 1]
        wn("area_conv.%d" % i, c, c, 3)
        p["conv_bias.%d" % i] = torch.randn(c, *sizes[i], generator=gen) * bias_std
        wn("area_area.%d" % i, c, CH[i], 3)
    for k in range(depth // 2 - 1):
        wn("skip_area.%d" % k, SKIP[k + 1], SKIP[k], 1)
    last = CH[depth]
    v = (torch.rand(classes, last, generator=gen) * 2 - 1) / math.sqrt(last)
    p["out_fc" + WN + "0"] = v.norm(dim=1, keepdim=True)
    p["out_fc" + WN + "1"] = v
    p["out_fc.bias"] = (torch.rand(classes, generator=gen) * 2 - 1) / math.sqrt(last)
    return p


class CordsNet:
    def __init__(self, params, depth, alpha=0.2, phi="relu", slope=0.0):
        self.p, self.D, self.alpha, self.phi_kind, self.slope = params, depth, alpha, phi, slope

    def W(self, base):
        g, v = self.p[base + WN + "0"], self.p[base + WN + "1"]
        norm = v.flatten(1).norm(dim=1).reshape([-1] + [1] * (v.dim() - 1))
        return g * v / norm

    def phi(self, z):
        if self.phi_kind == "relu":
            return torch.relu(z)
        if self.phi_kind == "identity":
            return z
        return torch.clamp(z, min=0) + self.slope * torch.clamp(z, max=0)

    def drive(self, x):
        return F.avg_pool2d(F.conv2d(x, self.W("inp_conv"), stride=2, padding=3), 3, 2, 1,
                            count_include_pad=True)

    def step(self, r, p):
        """One step, looping from the deepest area down and updating in place:
        each area sees only the old states of the areas below it."""
        for i in reversed(range(self.D)):
            if i == 0:
                u = p
            elif i == 1:
                u = torch.relu(r[0]) + F.conv2d(p, self.W("inp_skip"), padding=1)
            elif i % 2 == 0:
                u = torch.relu(r[i - 1]) + torch.relu(r[i - 2])
            else:
                k = (i - 3) // 2
                u = torch.relu(r[i - 1]) + F.conv2d(torch.relu(r[i - 2]), self.W("skip_area.%d" % k), stride=2)
            z = (F.conv2d(r[i], self.W("area_conv.%d" % i), padding=1) + self.p["conv_bias.%d" % i]
                 + F.conv2d(u, self.W("area_area.%d" % i), stride=STRIDE[i], padding=1))
            r[i] = (1 - self.alpha) * r[i] + self.alpha * self.phi(z)
        return r

    def readout(self, r):
        f = (torch.relu(r[self.D - 1]) + torch.relu(r[self.D - 2])).mean(dim=(2, 3))
        return F.linear(f, self.W("out_fc"), self.p["out_fc.bias"])

    def run(self, x, spont, stim, on_step=None):
        """The full protocol, naively: blank (x = 0) then the image, batch as given."""
        B = x.shape[0]
        r = [torch.zeros(B, CH[i + 1], *s) for i, s in enumerate(area_sizes(self.D, x.shape[2], x.shape[3]))]
        for t in range(spont + stim):
            p = self.drive(torch.zeros_like(x) if t < spont else x)
            r = self.step(r, p)
            if on_step:
                on_step(t + 1, r)
        return self.readout(r), r
