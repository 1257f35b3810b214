#!/usr/bin/python3
"""Regenerates the interop fixtures (run with Debian's /usr/bin/python3:
torch 1.13 + numpy). Deterministic: the same files every run, except
bad/legacy.pth (the legacy format keys storages by object id).

  r2.pth            CordsNet-R2 (28x28, 1 channel, 10 classes), plain state_dict
  r2_module.pth     {"state_dict": {"module." + name: ...}, "epoch": 3}, big weights bf16,
                    one nn.Parameter (_rebuild_parameter)
  r2_view.pth       views: a transposed weight, conv_bias.0 at an offset in a shared
                    storage; big weights f16, out_fc g f64
  r2.safetensors    written by hand (no safetensors package): F32/F16/BF16/F64, __metadata__
  r2.npz            np.savez_compressed (deflated), big weights f16
  *.crc             expected: "name crc32" of each parameter as little-endian f32 bytes
  npy/              .npy files: plain, Fortran order, big-endian, 0-d, bool, i64, v2 header;
                    npy/all.npz (stored) with the same arrays
  bad/              malicious and broken inputs (each must give a clean error)
  torch2.pth, torch2_big.pth   hand-made "torch 2.x style" zips: ZIP64 end records,
                    data descriptors (flags 0x0808), CRC 0, 64-byte padding extra field,
                    .format_version, byteorder ("big" in the second, data byte-swapped),
                    .data/serialization_id
"""
import collections
import io
import os
import pickle
import struct
import subprocess
import zipfile
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CH = [64, 64, 64, 128, 128, 256, 256, 512, 512]
SK = [64, 128, 256, 512]
WN = ".parametrizations.weight.original"


def conv_out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def param_shapes(depth, cin, size, classes):
    """cords-model(7) names and shapes in checkpoint order (matches lib/model/arch.c)."""
    stride = [1, 1, 2, 1, 2, 1, 2, 1]
    h = conv_out(conv_out(size, 7, 2, 3), 3, 2, 1)
    out = [("inp_conv" + WN + "0", (64, 1, 1, 1)), ("inp_conv" + WN + "1", (64, cin, 7, 7)),
           ("inp_skip" + WN + "0", (64, 1, 1, 1)), ("inp_skip" + WN + "1", (64, 64, 3, 3))]
    for i in range(depth):
        c = CH[i + 1]
        if stride[i] == 2:
            h = conv_out(h, 3, 2, 1)
        out += [(f"area_conv.{i}" + WN + "0", (c, 1, 1, 1)), (f"area_conv.{i}" + WN + "1", (c, c, 3, 3)),
                (f"conv_bias.{i}", (c, h, h)),
                (f"area_area.{i}" + WN + "0", (c, 1, 1, 1)), (f"area_area.{i}" + WN + "1", (c, CH[i], 3, 3))]
    for k in range(depth // 2 - 1):
        out += [(f"skip_area.{k}" + WN + "0", (SK[k + 1], 1, 1, 1)),
                (f"skip_area.{k}" + WN + "1", (SK[k + 1], SK[k], 1, 1))]
    c = CH[depth]
    out += [("out_fc" + WN + "0", (classes, 1)), ("out_fc" + WN + "1", (classes, c)), ("out_fc.bias", (classes,))]
    return out


def random_state_dict(depth, cin, size, classes, seed):
    g = torch.Generator().manual_seed(seed)
    return collections.OrderedDict(
        (n, torch.randn(s, generator=g) * 0.1) for n, s in param_shapes(depth, cin, size, classes))


def big(name):
    return name.endswith(WN + "1") and "out_fc" not in name


def write_crc(path, sd):
    with open(path, "w") as f:
        for n, t in sd.items():
            b = np.ascontiguousarray(t.detach().float().numpy()).astype("<f4").tobytes()
            f.write(f"{n} {zlib.crc32(b):08x}\n")


def path(*p):
    full = os.path.join(HERE, *p)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    return full


def r2_fixtures():
    base = random_state_dict(2, 1, 28, 10, 1)
    torch.save(base, path("r2.pth"))
    write_crc(path("r2.crc"), base)

    mod = collections.OrderedDict()
    for n, t in base.items():
        t = t.bfloat16() if big(n) else t
        mod["module." + n] = torch.nn.Parameter(t, requires_grad=False) if n == "out_fc.bias" else t
    torch.save({"state_dict": mod, "epoch": 3}, path("r2_module.pth"))
    write_crc(path("r2_module.crc"), collections.OrderedDict((n[7:], t) for n, t in mod.items()))

    view = collections.OrderedDict()
    for n, t in base.items():
        view[n] = t.half() if big(n) else t
    # a transposed weight: the storage holds [.,.,3,3] permuted, the view un-permutes it
    w = view["area_conv.0" + WN + "1"]
    view["area_conv.0" + WN + "1"] = w.permute(2, 3, 0, 1).contiguous().permute(2, 3, 0, 1)
    # conv_bias.0 at an offset inside a larger storage shared with another tensor
    b0 = view["conv_bias.0"]
    shared = torch.cat([torch.arange(7.0), b0.flatten(), torch.arange(5.0)])
    view["conv_bias.0"] = shared[7:7 + b0.numel()].view(b0.shape)
    view["extra.shared_tail"] = shared[7 + b0.numel():]
    view["out_fc" + WN + "0"] = view["out_fc" + WN + "0"].double()
    assert not view["area_conv.0" + WN + "1"].is_contiguous()
    torch.save(view, path("r2_view.pth"))
    write_crc(path("r2_view.crc"), view)

    st = collections.OrderedDict()
    kinds = [torch.float32, torch.float16, torch.bfloat16, torch.float64]
    for i, (n, t) in enumerate(base.items()):
        st[n] = t.to(kinds[i % 4]) if big(n) or i % 4 == 3 else t
    write_safetensors(path("r2.safetensors"), st, {"source": "gen.py", "format": "pt"})
    write_crc(path("r2_safetensors.crc"), st)

    npz = collections.OrderedDict((n, t.half() if big(n) else t) for n, t in base.items())
    np.savez_compressed(path("r2.npz"), **{n: t.numpy() for n, t in npz.items()})
    write_crc(path("r2_npz.crc"), npz)
    return base


ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
            torch.int64: "I64", torch.uint8: "U8", torch.bool: "BOOL"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().tobytes()


def write_safetensors(fname, sd, meta=None, pad=True):
    import json
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for n, t in sd.items():
        b = tensor_bytes(t)
        header[n] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    with open(fname, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def npy_fixtures():
    a = np.arange(6, dtype="<f4").reshape(2, 3) / 4
    np.save(path("npy", "f32.npy"), a)
    np.save(path("npy", "fortran.npy"), np.asfortranarray(np.arange(24, dtype="<f8").reshape(2, 3, 4)))
    np.save(path("npy", "big.npy"), np.arange(4, dtype=">f4"))
    np.save(path("npy", "scalar.npy"), np.array(-7, dtype="<i8"))
    np.save(path("npy", "bool.npy"), np.array([True, False, True]))
    np.save(path("npy", "i64.npy"), np.array([-1, 2 ** 40, 3], dtype="<i8"))
    np.save(path("npy", "u8.npy"), np.arange(24, dtype="u1").reshape(2, 3, 4))
    np.save(path("npy", "u4.npy"), np.arange(3, dtype="<u4"))
    np.save(path("npy", "empty.npy"), np.zeros((0, 3), dtype="<f4"))
    with open(path("npy", "v2.npy"), "wb") as f:
        np.lib.format.write_array(f, a, version=(2, 0))
    np.savez(path("npy", "all.npz"), f32=a, fortran=np.asfortranarray(np.arange(6.0).reshape(2, 3)),
             scalar=np.array(-7, dtype="<i8"), flags=np.array([True, False, True]))


PY2_PICKLE = (  # what Python 2's cPickle.dump(protocol=2) writes for a CIFAR-like batch
    b"\x80\x02}q\x01(U\x04dataq\x02cnumpy.core.multiarray\n_reconstruct\nq\x03cnumpy\nndarray\nq\x04"
    b"K\x00\x85U\x01b\x87Rq\x05(K\x01K\x02K\x03\x86cnumpy\ndtype\nq\x06U\x02u1K\x00K\x01\x87Rq\x07"
    b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x06\x00\x01\x02\x03\xfe\xfftb"
    b"U\x06labelsq\x08]q\t(K\x01K\x02eu.")


def pickle_fixtures():
    """NumPy arrays as pickled by Python 2 (CIFAR), and by Python 3 at protocols 2 and 4."""
    d = pickle.loads(PY2_PICKLE, encoding="bytes")
    assert d[b"data"].tolist() == [[0, 1, 2], [3, 254, 255]] and d[b"labels"] == [1, 2]
    with open(path("pickle", "py2_cifar.pkl"), "wb") as f:
        f.write(PY2_PICKLE)
    arrays = {b"data": np.array([[0, 1, 2], [3, 254, 255]], dtype="u1"), b"labels": [1, 2],
              b"fortran": np.asfortranarray(np.arange(6, dtype="<i4").reshape(2, 3)),
              b"f32": np.array([1.5, -0.25], dtype="<f4")}
    for proto in (2, 4):
        with open(path("pickle", f"py3_p{proto}.pkl"), "wb") as f:
            pickle.dump(arrays, f, protocol=proto)


def zip_with(fname, records):
    """A torch-1.x style zip with the given {name: bytes} (zipfile, stored)."""
    with zipfile.ZipFile(fname, "w", zipfile.ZIP_STORED) as z:
        for n, b in records.items():
            z.writestr(zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0)), b)


def pth_records(sd, prefix="archive"):
    buf = io.BytesIO()
    torch.save(sd, buf)
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    return collections.OrderedDict((prefix + "/" + i.filename.split("/", 1)[1], z.read(i)) for i in z.infolist())


class Evil:
    """Pickles as a call of f(*args), as an attacker's file would (never unpickled here)."""

    def __init__(self, f, args):
        self.f, self.args = f, args

    def __reduce__(self):
        return self.f, self.args


def bad_fixtures(base):
    small = collections.OrderedDict(a=torch.arange(6.0).reshape(2, 3))
    pk = {
        "os_system": b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00lsq\x00\x85R.",
        "builtins_eval": pickle.dumps(Evil(eval, ("1+1",)), protocol=4),
        "subprocess_popen": pickle.dumps(Evil(subprocess.Popen, (["ls"],)), protocol=2, fix_imports=False),
        "deep_nesting": b"\x80\x02" + b"]" * 300 + b"a" * 299 + b".",
        "many_marks": b"\x80\x02" + b"(" * 10000 + b".",
        "huge_string": b"\x80\x02X\xf0\xff\xff\xffabc.",
        "huge_bytes8": b"\x80\x04\x8e\x00\x00\x00\x00\x00\x00\x00\x10abc.",
        "unknown_opcode": b"\x80\x02\x82\x01.",
        "not_a_dict": b"\x80\x02]q\x00.",
    }
    for name, data in pk.items():
        recs = pth_records(small)
        recs["archive/data.pkl"] = data
        zip_with(path("bad", name + ".pth"), recs)
    recs = pth_records(small)
    del recs["archive/data/0"]
    zip_with(path("bad", "missing_storage.pth"), recs)
    torch.save(small, path("bad", "legacy.pth"), _use_new_zipfile_serialization=False)
    # a stride-0 view: 16 GiB of f32 from a 4-byte storage
    torch.save(collections.OrderedDict(a=torch.zeros(1).expand(1 << 20, 4096)), path("bad", "expand.pth"))
    # just the tensors shape inference reads, so the first check fails: a missing
    # inp_conv g; then the same with a mis-shaped one
    need = ["inp_conv" + WN + "1", "conv_bias.0", "conv_bias.1", "out_fc" + WN + "1"]
    few = collections.OrderedDict((n, base[n].half()) for n in need)
    write_safetensors(path("bad", "missing.safetensors"), few)
    few["inp_conv" + WN + "0"] = torch.zeros(64, 1, 1, 2)
    write_safetensors(path("bad", "misshaped.safetensors"), few)
    with open(path("bad", "overlap.safetensors"), "wb") as f:
        h = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'
        f.write(struct.pack("<Q", len(h)) + h + bytes(12))
    with open(path("bad", "truncated.npz"), "wb") as f:
        f.write(open(path("npy", "all.npz"), "rb").read()[:300])


def raw_zip(records, big_endian=False):
    """torch 2.x's writer (miniz) by hand: data descriptors, CRC 0, 64-byte aligned data
    with a 0x4246 padding extra field, ZIP64 end of central directory."""
    out, central = bytearray(), bytearray()
    for name, data in records.items():
        n = name.encode()
        off = len(out)
        pad = -(off + 30 + len(n) + 4) % 64
        extra = struct.pack("<HH", 0x4246, pad) + bytes(pad)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x0808, 0, 0, 0, 0, 0, 0, len(n), len(extra))
        out += n + extra
        assert len(out) % 64 == 0
        out += data
        out += struct.pack("<IIQQ", 0x08074B50, 0, len(data), len(data))  # descriptor, CRC 0
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 20, 0x0808, 0, 0, 0, 0,
                               len(data), len(data), len(n), 0, 0, 0, 0, 0, off) + n
    cd_off = len(out)
    out += central
    z64 = len(out)
    cnt = len(records)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 20, 0, 0, cnt, cnt, len(central), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return bytes(out)


def torch2_fixtures():
    sd = collections.OrderedDict(
        w=torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8,
        h=torch.tensor([1.5, -2.25], dtype=torch.float16),
        n=torch.tensor([5, -6], dtype=torch.int64))
    for big_endian in (False, True):
        recs = pth_records(sd, "torch2" + ("_big" if big_endian else ""))
        prefix = next(iter(recs)).split("/")[0]
        out = collections.OrderedDict()
        out[prefix + "/data.pkl"] = recs[prefix + "/data.pkl"]
        out[prefix + "/.format_version"] = b"1"
        out[prefix + "/.storage_alignment"] = b"64"
        out[prefix + "/byteorder"] = b"big" if big_endian else b"little"
        for k, v in recs.items():
            if "/data/" in k:
                if big_endian:
                    item = {0: 4, 1: 2, 2: 8}[int(k.rsplit("/", 1)[1])]
                    v = np.frombuffer(v, dtype=f"<u{item}").astype(f">u{item}").tobytes()
                out[k] = v
        out[prefix + "/version"] = b"3\n"
        out[prefix + "/.data/serialization_id"] = b"1234567890123456789012345678901234567890"
        with open(path(prefix + ".pth"), "wb") as f:
            f.write(raw_zip(out))


if __name__ == "__main__":
    torch.manual_seed(0)
    b = r2_fixtures()
    npy_fixtures()
    pickle_fixtures()
    bad_fixtures(b)
    torch2_fixtures()
