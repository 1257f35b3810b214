#!/usr/bin/python3
"""Makes N ImageNet-like JPEGs (sizes and aspect ratios as in ILSVRC2012:
mostly 500 x 375/333 either way, some larger) from the sample photos by random
crops and resizes, quality 90. Usage: make_images.py DIR [N]"""
import os, random, sys
from PIL import Image

SRC = ['/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg',
       '/usr/lib/python3/dist-packages/sklearn/datasets/images/flower.jpg']
here = os.path.dirname(os.path.abspath(__file__))
SRC += [os.path.join(here, '../../testdata/data/photos', f) for f in ('china.jpg', 'flower_tall.jpg')]
out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300
os.makedirs(out, exist_ok=True)
rng = random.Random(0)
photos = [Image.open(p).convert('RGB') for p in SRC if os.path.exists(p)]
sizes = [(500, 375), (375, 500), (500, 333), (333, 500), (500, 400), (640, 480), (800, 600), (400, 300)]
for i in range(n):
    im = rng.choice(photos)
    w, h = rng.choice(sizes)
    cw, ch = rng.randint(im.width // 2, im.width), rng.randint(im.height // 2, im.height)
    x, y = rng.randint(0, im.width - cw), rng.randint(0, im.height - ch)
    im.crop((x, y, x + cw, y + ch)).resize((w, h), Image.BICUBIC).save(os.path.join(out, 'img%04d.jpg' % i), quality=90)
