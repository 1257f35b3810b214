"""Read and write cords tensor streams (lib/io/stream.h) from Python, for the
fixture generators and CLI tests: one zstd frame per record, compressed by
the zstd command."""
import struct
import subprocess

import numpy as np

DTYPES = {1: np.float32, 2: np.float64, 3: np.float16, 5: np.uint8, 6: np.int8,
          7: np.int16, 8: np.int32, 9: np.int64}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}
TEXT = 11


def record(name, value):
    """The uncompressed bytes of one record: a numpy array or a str (text)."""
    if isinstance(value, str):
        data, code, shape = value.encode(), TEXT, (len(value.encode()),)
    else:
        a = np.ascontiguousarray(value)
        data, code, shape = a.astype(a.dtype.newbyteorder('<')).tobytes(), CODES[a.dtype], a.shape
    n = name.encode()
    head = b"CRD1" + struct.pack("<BBH", code, len(shape), len(n))
    head += struct.pack("<%dQ" % len(shape), *shape) + n
    return head + data


def write(path, records):
    """records: list of (name, array-or-text)."""
    with open(path, "wb") as f:
        for name, value in records:
            z = subprocess.run(["zstd", "-q", "-c", "-3", "--check"], input=record(name, value),
                               stdout=subprocess.PIPE, check=True).stdout
            f.write(z)


def meta(d):
    return "".join("%s=%s\n" % (k, v) for k, v in d.items())


def read(path):
    """All records of a stream as a list of (name, array-or-text)."""
    raw = subprocess.run(["zstd", "-q", "-dc", path], stdout=subprocess.PIPE, check=True).stdout
    out, off = [], 0
    while off < len(raw):
        assert raw[off:off + 4] == b"CRD1", "not a cords stream"
        code, nd, nl = struct.unpack_from("<BBH", raw, off + 4)
        shape = struct.unpack_from("<%dQ" % nd, raw, off + 8)
        off += 8 + 8 * nd
        name = raw[off:off + nl].decode()
        off += nl
        if code == TEXT:
            out.append((name, raw[off:off + shape[0]].decode()))
            off += shape[0]
            continue
        dt = np.dtype(DTYPES[code]).newbyteorder('<')
        n = int(np.prod(shape)) * dt.itemsize
        out.append((name, np.frombuffer(raw[off:off + n], dtype=dt).reshape(shape).astype(dt.newbyteorder('='))))
        off += n
    return out
