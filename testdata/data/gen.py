#!/usr/bin/python3
"""Makes the small committed fixtures of testdata/data (run with Debian's
/usr/bin/python3: numpy, PIL, torchvision 0.14). Deterministic.

pil/*.bin: one PIL/torchvision operation with fixed parameters, for the unit
test test/unit/transforms.c. Layout (little-endian): b"PILT", i32 c h w oc oh ow
np, f64 params[np], then the input (c*h*w u8, planar) and PIL's output (oc*oh*ow)."""
import gzip, os, struct, sys
import numpy as np
from PIL import Image
import torchvision.transforms.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
PHOTO = '/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg'
FM = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz'


def planar(im):
    a = np.asarray(im)
    return (a[None] if a.ndim == 2 else a.transpose(2, 0, 1)).copy()


def case(name, im_in, im_out, params):
    a, b = planar(im_in), planar(im_out)
    with open(os.path.join(HERE, 'pil', name + '.bin'), 'wb') as f:
        f.write(b'PILT' + struct.pack('<7i', *a.shape, *b.shape, len(params)))
        f.write(struct.pack('<%dd' % len(params), *params))
        f.write(a.tobytes() + b.tobytes())


def pil_fixtures():
    os.makedirs(os.path.join(HERE, 'pil'), exist_ok=True)
    fm = np.frombuffer(gzip.open(FM).read(), np.uint8, offset=16).reshape(-1, 28, 28)
    gray = Image.fromarray(fm[0])
    photo = Image.open(PHOTO).convert('RGB')
    rgb = photo.crop((200, 100, 264, 148))  # 64 x 48
    big = photo.crop((100, 50, 300, 200))  # 200 x 150
    case('resize_gray_up', gray, gray.resize((50, 50), Image.BILINEAR), [50, 50])
    case('resize_rgb_down', big, big.resize((61, 45), Image.BILINEAR), [45, 61])
    case('resize_rgb_one_axis', rgb, rgb.resize((64, 21), Image.BILINEAR), [21, 64])
    tf = lambda im: F.center_crop(F.resize(im, 64), 56)
    case('resize64_crop56', big, tf(big), [64, 56])
    affines = [(3.7, 1, -1, 1.03, -2.5), (-4.9, 0, 1, 0.96, 4.9), (0.0, 1, 1, 1.0, 0.0), (12.0, -3, 2, 1.2, 10.0)]
    for k, (ang, tx, ty, sc, sh) in enumerate(affines):
        case('affine_gray_%d' % k, gray, F.affine(gray, ang, [tx, ty], sc, [sh, 0.0]), [ang, tx, ty, sc, sh])
    case('affine_rgb', rgb, F.affine(rgb, 4.2, [2, -1], 0.97, [-3.3, 0.0]), [4.2, 2, -1, 0.97, -3.3])
    for f in (0.9, 1.07):
        case('brightness_rgb_%g' % f, rgb, F.adjust_brightness(rgb, f), [f])
        case('contrast_rgb_%g' % f, rgb, F.adjust_contrast(rgb, f), [f])
        case('contrast_gray_%g' % f, gray, F.adjust_contrast(gray, f), [f])



def quantiles(name, v):
    q = np.quantile(np.asarray(v, np.float64), [0.1, 0.25, 0.5, 0.75, 0.9])
    return '%s %s %.6f\n' % (name, ' '.join('%.6f' % x for x in q), np.mean(v))


def dist_fixture(n=20000):
    """dist.txt: quantiles (10 25 50 75 90 %) and mean of torchvision's random
    parameters, for the statistical tests of ours."""
    import torch
    import torchvision.transforms as T
    torch.manual_seed(0)
    H, W = 80, 100
    img = torch.zeros(1, H, W)
    rrc = [T.RandomResizedCrop.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3)) for _ in range(n)]
    out = quantiles('rrc_area', [h * w / (H * W) for i, j, h, w in rrc])
    out += quantiles('rrc_ratio', [w / h for i, j, h, w in rrc])
    out += quantiles('rrc_top', [i / max(1, H - h) for i, j, h, w in rrc])
    aff = [T.RandomAffine.get_params((-5.0, 5.0), (0.05, 0.05), (0.95, 1.05), (-5.0, 5.0, 0.0, 0.0), [28, 28])
           for _ in range(n)]
    out += quantiles('affine_angle', [a[0] for a in aff])
    out += quantiles('affine_tx', [a[1][0] for a in aff])
    out += quantiles('affine_scale', [a[2] for a in aff])
    out += quantiles('affine_shear', [a[3][0] for a in aff])
    cj = [T.ColorJitter.get_params([0.9, 1.1], [0.9, 1.1], None, None) for _ in range(n)]
    out += quantiles('jitter_brightness', [c[1] for c in cj])
    out += quantiles('jitter_contrast', [c[2] for c in cj])
    out += quantiles('jitter_first_is_brightness', [float(list(c[0]).index(0) < list(c[0]).index(1)) for c in cj])
    open(os.path.join(HERE, 'dist.txt'), 'w').write(out)


def add_member(tar, name, data):
    import io, tarfile
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime = len(data), 0
    tar.addfile(ti, io.BytesIO(data))


def cifar_fixtures():
    """cifar-10-binary.tar.gz (5 + 3 x 4 records, members deliberately out of
    order, names last) and cifar-100-binary.tar.gz (6 train, 3 test records)."""
    import tarfile
    rng = np.random.RandomState(10)
    names10 = b'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n'
    batches = {}
    for b in range(1, 6):
        batches['data_batch_%d.bin' % b] = 4
    batches['test_batch.bin'] = 3
    out = os.path.join(HERE, 'cifar-10-binary.tar.gz')
    with tarfile.open(out, 'w:gz', format=tarfile.USTAR_FORMAT) as tar:
        for name in ['data_batch_2.bin', 'test_batch.bin', 'data_batch_1.bin', 'data_batch_3.bin',
                     'data_batch_5.bin', 'data_batch_4.bin']:
            n = batches[name]
            rec = np.concatenate([rng.randint(0, 10, (n, 1)), rng.randint(0, 256, (n, 3072))], 1)
            add_member(tar, 'cifar-10-batches-bin/' + name, rec.astype(np.uint8).tobytes())
        add_member(tar, 'cifar-10-batches-bin/batches.meta.txt', names10)
    fine = ['apple', 'aquarium_fish'] + ['class%02d' % i for i in range(2, 100)]
    coarse = ['aquatic_mammals', 'fish'] + ['super%02d' % i for i in range(2, 20)]
    out = os.path.join(HERE, 'cifar-100-binary.tar.gz')
    with tarfile.open(out, 'w:gz', format=tarfile.USTAR_FORMAT) as tar:
        add_member(tar, 'cifar-100-binary/coarse_label_names.txt', ('\n'.join(coarse) + '\n').encode())
        add_member(tar, 'cifar-100-binary/fine_label_names.txt', ('\n'.join(fine) + '\n').encode())
        for name, n in (('train.bin', 6), ('test.bin', 3)):
            rec = np.concatenate([rng.randint(0, 20, (n, 1)), rng.randint(0, 100, (n, 1)),
                                  rng.randint(0, 256, (n, 3072))], 1)
            add_member(tar, 'cifar-100-binary/' + name, rec.astype(np.uint8).tobytes())


def image_fixtures():
    """folder/: an ImageFolder tree of small images in every kind we must read
    (RGB, grayscale and CMYK JPEGs, RGB, palette and grayscale+alpha PNGs, a
    PNG named .JPEG, a file in a sub-directory); photos/: two real photos at
    reduced size; bad/: a corrupt, a truncated and a non-image .jpg."""
    import io
    photo = Image.open(PHOTO).convert('RGB')
    flower = Image.open(PHOTO.replace('china', 'flower')).convert('RGB')
    d = os.path.join(HERE, 'photos')
    os.makedirs(d, exist_ok=True)
    photo.resize((320, 214), Image.BILINEAR).save(os.path.join(d, 'china.jpg'), quality=90)
    flower.resize((214, 320), Image.BILINEAR).save(os.path.join(d, 'flower_tall.jpg'), quality=90)
    small = photo.crop((150, 100, 310, 220)).resize((96, 72), Image.BILINEAR)
    other = flower.crop((200, 100, 330, 260)).resize((65, 80), Image.BILINEAR)
    f = os.path.join(HERE, 'folder')
    for sub in ('n01', 'n01/sub', 'n02'):
        os.makedirs(os.path.join(f, sub), exist_ok=True)
    small.save(os.path.join(f, 'n01', 'a.jpg'), quality=85)
    other.save(os.path.join(f, 'n01', 'b.png'))
    small.convert('L').save(os.path.join(f, 'n01', 'sub', 'c.jpg'), quality=85)
    other.save(os.path.join(f, 'n02', 'd.JPEG'), format='PNG')
    small.convert('CMYK').save(os.path.join(f, 'n02', 'e.jpg'), quality=85)
    other.convert('P', palette=Image.ADAPTIVE, colors=32).save(os.path.join(f, 'n02', 'f.png'))
    small.convert('LA').save(os.path.join(f, 'n02', 'g.png'))
    open(os.path.join(f, 'n02', 'notes.txt'), 'w').write('not an image: ignored by extension\n')
    b = os.path.join(HERE, 'bad')
    os.makedirs(b, exist_ok=True)
    buf = io.BytesIO()
    small.save(buf, format='JPEG', quality=85)
    data = bytearray(buf.getvalue())
    open(os.path.join(b, 'truncated.jpg'), 'wb').write(bytes(data[:len(data) // 2]))
    for i in range(600, 700):  # a destroyed Huffman table / scan header region
        data[i % len(data)] = 0xFF if i % 2 else 0xD9
    corrupt = bytes(data[:2]) + b'\xff\xdb\x00\x02' + bytes(data[2:])  # a zero-length DQT: fatal in libjpeg
    open(os.path.join(b, 'corrupt.jpg'), 'wb').write(corrupt)
    open(os.path.join(b, 'text.jpg'), 'w').write('hello\n')


def randaug_fixtures():
    """pil/ra_*.bin: every RandAugment op of torchvision at magnitude bin 9
    (both signs where signed) on a photo crop; params: op index, magnitude."""
    from torchvision.transforms import InterpolationMode, RandAugment
    from torchvision.transforms.autoaugment import _apply_op
    rgb = Image.open(PHOTO).convert('RGB').crop((200, 100, 264, 148))
    space = RandAugment()._augmentation_space(31, (rgb.height, rgb.width))
    for k, (name, (mags, signed)) in enumerate(space.items()):
        mag = float(mags[9].item()) if mags.ndim > 0 else 0.0
        for sign in ((1, -1) if signed else (1,)):
            out = _apply_op(rgb, name, sign * mag, interpolation=InterpolationMode.NEAREST, fill=None)
            case('ra_%s%s' % (name, '_neg' if sign < 0 else ''), rgb, out, [k, sign * mag])


def elastic_fixture():
    """pil/elastic_gray.bin: torchvision's elastic_transform (alpha 20, sigma 5)
    of a 28x28 image with a given noise field; params: the raw noise [2,28,28]."""
    import torch
    fm = np.frombuffer(gzip.open(FM).read(), np.uint8, offset=16).reshape(-1, 28, 28)
    gray = Image.fromarray(fm[1])
    noise = np.random.RandomState(3).uniform(-1, 1, (2, 1, 1, 28, 28)).astype(np.float32)
    dx = F.gaussian_blur(torch.from_numpy(noise[0]), [41, 41], [5.0, 5.0]) * 20.0 / 28
    dy = F.gaussian_blur(torch.from_numpy(noise[1]), [41, 41], [5.0, 5.0]) * 20.0 / 28
    disp = torch.concat([dx, dy], 1).permute([0, 2, 3, 1])
    out = F.elastic_transform(gray, disp)
    case('elastic_gray', gray, out, [float(v) for v in noise.reshape(-1)])


def imagenet_fixtures():
    """A miniature ILSVRC2012: img_train.tar (3 per-class tars, out of order,
    one "JPEG" that is a PNG), img_val.tar (4 images, out of order) and a
    devkit tarball (meta.mat with 3 leaf synsets and 1 inner node, ground truth)."""
    import io, tarfile
    import scipy.io
    photo = Image.open(PHOTO).convert('RGB')
    def jpeg(k, fmt='JPEG'):
        b = io.BytesIO()
        photo.crop((40 * k, 30 * k, 40 * k + 160, 30 * k + 120)).resize((40, 30), Image.BILINEAR).save(b, fmt, quality=75)
        return b.getvalue()
    d = os.path.join(HERE, 'imagenet')
    os.makedirs(d, exist_ok=True)
    with tarfile.open(os.path.join(d, 'ILSVRC2012_img_train.tar'), 'w', format=tarfile.USTAR_FORMAT) as outer:
        for k, w in enumerate(['n02105855', 'n01440764', 'n01443537']):
            b = io.BytesIO()
            with tarfile.open(fileobj=b, mode='w', format=tarfile.USTAR_FORMAT) as inner:
                add_member(inner, '%s_%d.JPEG' % (w, 10 + k), jpeg(k))
                add_member(inner, '%s_2933.JPEG' % w, jpeg(k + 1, 'PNG' if k == 0 else 'JPEG'))
            add_member(outer, w + '.tar', b.getvalue())
    with tarfile.open(os.path.join(d, 'ILSVRC2012_img_val.tar'), 'w', format=tarfile.USTAR_FORMAT) as val:
        for i in (3, 1, 4, 2):
            add_member(val, 'ILSVRC2012_val_%08d.JPEG' % i, jpeg(i))
    dt = [('ILSVRC2012_ID', 'O'), ('WNID', 'O'), ('words', 'O'), ('gloss', 'O'), ('num_children', 'O'),
          ('children', 'O'), ('wordnet_height', 'O'), ('num_train_images', 'O')]
    rows = [(1, 'n02105855', 'Shetland sheepdog, Shetland sheep dog', 'a dog', 0, np.zeros((1, 0)), 0, 2),
            (2, 'n01440764', 'tench, Tinca tinca', 'a fish', 0, np.zeros((1, 0)), 0, 2),
            (3, 'n01443537', 'goldfish, Carassius auratus', 'a fish', 0, np.zeros((1, 0)), 0, 2),
            (4, 'n01439121', 'cyprinid', 'fishes', 2, np.array([[2, 3]], np.uint8), 1, 4)]
    syn = np.empty((len(rows), 1), dtype=dt)
    for i, r in enumerate(rows):
        for f, v in zip([n for n, _ in dt], r):
            syn[i, 0][f] = np.array([[v]], np.uint16) if isinstance(v, int) else v
    mat = io.BytesIO()
    scipy.io.savemat(mat, {'synsets': syn}, do_compression=True)
    with tarfile.open(os.path.join(d, 'ILSVRC2012_devkit_t12.tar.gz'), 'w:gz', format=tarfile.USTAR_FORMAT) as dk:
        add_member(dk, 'ILSVRC2012_devkit_t12/data/meta.mat', mat.getvalue())
        add_member(dk, 'ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt', b'1\n3\n2\n1\n')


def cifar_python_fixtures():
    """cifar-10-python.tar.gz and cifar-100-python.tar.gz holding the same
    samples as the binary fixtures, pickled as the originals are (protocol 2,
    bytes keys, a NumPy u8 [N,3072] array), so both readers can be compared."""
    import io, pickle, tarfile
    def members(path):
        t = tarfile.open(path)
        return {m.name.split('/')[-1]: t.extractfile(m).read() for m in t.getmembers()}
    def pickled(d):
        return pickle.dumps(d, protocol=2)
    b10 = members(os.path.join(HERE, 'cifar-10-binary.tar.gz'))
    out = os.path.join(HERE, 'cifar-10-python.tar.gz')
    with tarfile.open(out, 'w:gz', format=tarfile.USTAR_FORMAT) as tar:
        names = [n.encode() for n in b10['batches.meta.txt'].decode().split()]
        add_member(tar, 'cifar-10-batches-py/batches.meta',
                   pickled({b'num_cases_per_batch': 10000, b'label_names': names, b'num_vis': 3072}))
        for name in ['data_batch_%d' % i for i in range(1, 6)] + ['test_batch']:
            a = np.frombuffer(b10[name + '.bin'], np.uint8).reshape(-1, 3073)
            add_member(tar, 'cifar-10-batches-py/' + name, pickled({
                b'batch_label': name.encode(), b'labels': [int(v) for v in a[:, 0]], b'data': a[:, 1:].copy(),
                b'filenames': [b'img%d.png' % i for i in range(len(a))]}))
    b100 = members(os.path.join(HERE, 'cifar-100-binary.tar.gz'))
    out = os.path.join(HERE, 'cifar-100-python.tar.gz')
    with tarfile.open(out, 'w:gz', format=tarfile.USTAR_FORMAT) as tar:
        add_member(tar, 'cifar-100-python/meta', pickled({
            b'fine_label_names': [n.encode() for n in b100['fine_label_names.txt'].decode().split()],
            b'coarse_label_names': [n.encode() for n in b100['coarse_label_names.txt'].decode().split()]}))
        for name in ('train', 'test'):
            a = np.frombuffer(b100[name + '.bin'], np.uint8).reshape(-1, 3074)
            add_member(tar, 'cifar-100-python/' + name, pickled({
                b'filenames': [b'x.png'] * len(a), b'batch_label': name.encode(),
                b'fine_labels': [int(v) for v in a[:, 1]], b'coarse_labels': [int(v) for v in a[:, 0]],
                b'data': a[:, 2:].copy()}))


if __name__ == '__main__':
    pil_fixtures()
    dist_fixture()
    cifar_fixtures()
    cifar_python_fixtures()
    image_fixtures()
    randaug_fixtures()
    elastic_fixture()
    imagenet_fixtures()
