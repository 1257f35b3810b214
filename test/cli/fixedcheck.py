"""cords-eig --at fixed's check: ||F(r) - r|| / ||r|| of a state stream
(--save-state: records r0..) under one step of the literal model
(testdata/model/cordsnet.py) in double, with the image of a batch stream.

    fixedcheck.py TESTDATA/model MODEL IMAGES STATE   -> prints the residual"""
import sys, numpy as np, torch
sys.path.insert(0, sys.argv[1]); import cstream, cordsnet
model, img, state = sys.argv[2:5]
params = {k: torch.from_numpy(np.asarray(v)).double() for k, v in cstream.read(model) if k != "meta"}
s = dict(cstream.read(state))
D = sum(1 for k in s if k.startswith("r"))
net = cordsnet.CordsNet(params, D)
x = torch.from_numpy(dict(cstream.read(img))["x"]).double()
r = [torch.from_numpy(s["r%d" % i]).double() for i in range(D)]
with torch.no_grad():
    Fr = net.step([t.clone() for t in r], net.drive(x))
num = sum(float(((a - b) ** 2).sum()) for a, b in zip(Fr, r)) ** 0.5
den = sum(float((b ** 2).sum()) for b in r) ** 0.5
print("%.3e" % (num / den))
