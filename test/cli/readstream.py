# An independent reader of cords tensor streams for the CLI tests: decodes the
# zstd frames with the zstd command and parses the record headers (cords-stream(5)).
# Usage: readstream.py FILE -> prints "name dtype shape nbytes sha256" per record name,
# with the data of all records of one name concatenated.
import hashlib, struct, subprocess, sys

DT = {1: 'f32', 2: 'f64', 3: 'f16', 4: 'bf16', 5: 'u8', 6: 'i8', 7: 'i16', 8: 'i32', 9: 'i64', 10: 'bool', 11: 'text'}
SZ = {1: 4, 2: 8, 3: 2, 4: 2, 5: 1, 6: 1, 7: 2, 8: 4, 9: 8, 10: 1, 11: 1}


def records(path):
    raw = subprocess.run(['zstd', '-dc', path], check=True, capture_output=True).stdout
    off = 0
    while off < len(raw):
        assert raw[off:off + 4] == b'CRD1', 'bad magic at %d' % off
        dt, nd, nl = struct.unpack_from('<BBH', raw, off + 4)
        shape = struct.unpack_from('<%dQ' % nd, raw, off + 8)
        off += 8 + 8 * nd
        name = raw[off:off + nl].decode()
        off += nl
        n = SZ[dt]
        for s in shape:
            n *= s
        yield name, DT[dt], shape, raw[off:off + n]
        off += n


if __name__ == '__main__':
    agg = {}
    for name, dt, shape, data in records(sys.argv[1]):
        a = agg.setdefault(name, [dt, 0, 0, hashlib.sha256(), 0])
        a[1] += 1
        a[2] += len(data)
        a[3].update(data)
        a[4] += shape[0] if shape else 1
    for name, (dt, k, n, h, rows) in agg.items():
        print(name, dt, k, rows, n, h.hexdigest())
