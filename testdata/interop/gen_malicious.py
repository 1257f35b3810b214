#!/usr/bin/python3
"""More hostile .pth files (issue 8), beside gen.py's bad/ ones: storage keys
that point outside the zip, sizes that claim more than the file holds, shapes
whose element count overflows 64 bits, and more non-whitelisted globals.
Each is a torch-1.x style zip whose data.pkl is written by hand here; none is
ever unpickled by Python."""
import collections, io, os, pickle, zipfile
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


class Call:
    """Pickles as f(*args)."""

    def __init__(self, f, args):
        self.f, self.args = f, args

    def __reduce__(self):
        return self.f, self.args


class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class P(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ('storage', torch.FloatStorage, obj.key, 'cpu', obj.numel)
        return None


def tensor(key, numel, shape, stride, offset=0):
    return Call(torch._utils._rebuild_tensor_v2,
                (Storage(key, numel), offset, tuple(shape), tuple(stride), False, collections.OrderedDict()))


def write(name, obj, storages={'0': bytes(24)}):
    b = io.BytesIO()
    P(b, protocol=2).dump(collections.OrderedDict(a=obj))
    with zipfile.ZipFile(os.path.join(HERE, name + '.pth'), 'w', zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo('archive/data.pkl', date_time=(2020, 1, 1, 0, 0, 0)), b.getvalue())
        for k, v in storages.items():
            z.writestr(zipfile.ZipInfo('archive/data/' + k, date_time=(2020, 1, 1, 0, 0, 0)), v)


if __name__ == '__main__':
    write('by_hand', tensor('0', 6, (2, 3), (3, 1)))  # the control: imports
    write('bad/key_parent', tensor('../../../etc/passwd', 6, (2, 3), (3, 1)))
    write('bad/key_absolute', tensor('/etc/passwd', 6, (2, 3), (3, 1)))
    write('bad/huge_numel', tensor('0', 1 << 40, (1 << 20, 1 << 20), (1 << 20, 1)))
    write('bad/shape_overflow', tensor('0', 6, (1 << 32, 1 << 32, 1 << 32), (1, 1, 1)))
    write('bad/negative_shape', tensor('0', 6, (-2, -3), (3, 1)))
    write('bad/offset_past_end', tensor('0', 6, (2, 3), (3, 1), offset=1 << 62))
    write('bad/getattr', Call(getattr, (object, '__subclasses__')))
    write('bad/import', Call(__import__, ('os',)))
