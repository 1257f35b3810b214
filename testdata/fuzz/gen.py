#!/usr/bin/python3
"""Seed corpora for the fuzz targets added with issue 8 (idx, cifar, imagenet,
decode, matfile, zip): small valid inputs of every kind each parser takes.
Run from anywhere with /usr/bin/python3; writes testdata/fuzz/NAME/seed-*."""
import gzip, io, os, pickle, struct, tarfile, zlib
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'data')


def put(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


def tar(members, mode='w'):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode=mode, format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime = len(data), 0
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def idx(a, code):
    return struct.pack('>BBBB', 0, 0, code, a.ndim) + struct.pack('>%dI' % a.ndim, *a.shape) + a.tobytes()


def idx_seeds():
    x = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    put('idx', 'images.idx', idx(x, 0x08))
    put('idx', 'images.idx.gz', gzip.compress(idx(x, 0x08), mtime=0))
    put('idx', 'labels.idx', idx(np.array([1, 7], np.uint8), 0x08))
    put('idx', 'f32.idx', idx(np.ones((2, 2), '>f4'), 0x0D))
    put('idx', 'i16.idx', idx(np.ones((3,), '>i2'), 0x0B))


def image(k, mode, size=(8, 6)):
    rng = np.random.default_rng(k)
    a = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(a).convert(mode)


def encoded(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def decode_seeds():
    put('decode', 'rgb.jpg', encoded(image(0, 'RGB'), 'JPEG', quality=50))
    put('decode', 'gray.jpg', encoded(image(1, 'L'), 'JPEG', quality=50))
    put('decode', 'cmyk.jpg', encoded(image(2, 'CMYK'), 'JPEG', quality=50))
    put('decode', 'progressive.jpg', encoded(image(3, 'RGB', (20, 17)), 'JPEG', progressive=True))
    put('decode', 'rgb.png', encoded(image(4, 'RGB'), 'PNG'))
    put('decode', 'palette.png', encoded(image(5, 'P'), 'PNG'))
    put('decode', 'gray_alpha.png', encoded(image(6, 'LA'), 'PNG'))
    put('decode', 'rgba.png', encoded(image(7, 'RGBA'), 'PNG'))
    put('decode', 'bw.png', encoded(image(8, '1'), 'PNG'))
    put('decode', 'interlaced.png', encoded(image(9, 'RGB'), 'PNG', interlace=1))
    a16 = (np.arange(48, dtype=np.uint16).reshape(6, 8) * 1000)
    put('decode', 'gray16.png', encoded(Image.fromarray(a16.astype(np.int32), 'I').convert('I;16'), 'PNG'))


def cifar_seeds():
    rec10 = bytes([3]) + bytes(range(256)) * 12
    rec100 = bytes([4, 55]) + bytes(range(256)) * 12
    c10 = [('cifar-10-batches-bin/batches.meta.txt', b'airplane\nautomobile\n\n'),
           ('cifar-10-batches-bin/test_batch.bin', rec10 * 2)]
    c100 = [('cifar-100-binary/coarse_label_names.txt', b'a\nb\n'),
            ('cifar-100-binary/fine_label_names.txt', b'c\nd\n'),
            ('cifar-100-binary/test.bin', rec100)]
    put('cifar', 'c10-bin.tar', tar(c10))
    put('cifar', 'c10-bin.tar.gz', gzip.compress(tar(c10), mtime=0))
    put('cifar', 'c100-bin.tar', tar(c100))
    data = np.frombuffer(rec10[1:] * 2, np.uint8).reshape(2, 3072)
    py10 = [('cifar-10-batches-py/batches.meta', pickle.dumps({b'label_names': [b'a', b'b']}, protocol=2)),
            ('cifar-10-batches-py/test_batch', pickle.dumps({b'data': data, b'labels': [1, 0]}, protocol=2))]
    py100 = [('cifar-100-python/meta', pickle.dumps({b'fine_label_names': [b'a'], b'coarse_label_names': [b'b']},
                                                   protocol=2)),
             ('cifar-100-python/test', pickle.dumps({b'data': data[:1], b'fine_labels': [0], b'coarse_labels': [0]},
                                                    protocol=2))]
    put('cifar', 'c10-py.tar', tar(py10))
    put('cifar', 'c100-py.tar', tar(py100))


def devkit_member(name):
    with tarfile.open(os.path.join(DATA, 'imagenet', 'ILSVRC2012_devkit_t12.tar.gz')) as t:
        return [t.extractfile(m).read() for m in t.getmembers() if m.name.endswith(name)][0]


def imagenet_seeds():
    jpg = encoded(image(0, 'RGB', (4, 4)), 'JPEG', quality=30)
    png = encoded(image(1, 'RGB', (4, 4)), 'PNG')
    inner = tar([('n01_1.JPEG', jpg), ('n01_2.JPEG', png)])
    put('imagenet', 'train.tar', tar([('n02.tar', tar([('n02_1.JPEG', jpg)])), ('n01.tar', inner)]))
    mat = devkit_member('meta.mat')
    put('imagenet', 'devkit-val.tar', tar([('d/data/meta.mat', mat),
                                           ('d/data/ILSVRC2012_validation_ground_truth.txt', b'1\n3\n'),
                                           ('ILSVRC2012_val_00000002.JPEG', jpg),
                                           ('ILSVRC2012_val_00000001.JPEG', png)]))


def matfile_seeds():
    mat = devkit_member('meta.mat')
    put('matfile', 'meta-compressed.mat', mat)
    # the same file with its one compressed element inflated in place
    head, rest = mat[:128], mat[128:]
    typ, n = struct.unpack('<II', rest[:8])
    if typ == 15:
        raw = zlib.decompress(rest[8:8 + n])
        put('matfile', 'meta-plain.mat', head + raw)


def zip_seeds():
    for t, f in (('npy', 'seed-all.npz'), ('pth', 'seed-torch2.pth'), ('pth', 'seed-missing_storage.pth')):
        with open(os.path.join(HERE, t, f), 'rb') as src:
            put('zip', f[5:], src.read())
    b = io.BytesIO()
    np.savez_compressed(b, a=np.arange(10, dtype=np.float32))
    put('zip', 'deflated.npz', b.getvalue())


if __name__ == '__main__':
    idx_seeds()
    decode_seeds()
    cifar_seeds()
    imagenet_seeds()
    matfile_seeds()
    zip_seeds()
