#!/usr/bin/python3
"""Interop with the safetensors specification, using only Python's standard library
(struct, json, zlib) as an independent reader and writer:

1. a checkpoint written by `descent optimize --save` is read here and its layout checked
   against the specification (u64 little-endian header length, UTF-8 JSON header padded
   with spaces, dtype/shape/data_offsets per tensor, offsets tiling the data section,
   string-to-string __metadata__) and against descent's own metadata and both checksums;
2. files written here (the same tensors in another order, another JSON layout, no
   alignment padding; a checkpoint made from scratch; a foreign file with dtypes descent
   does not optimize) load into descent, and resume on the same bits;
3. damaged files written here are refused with one line on stderr.

usage: safetensors_interop.py path/to/descent
"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

DTYPE_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2,
              "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
BIN = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in JSON object")
    return dict(pairs)


HEADER_CRC = re.compile(rb'"header_checksum"\s*:\s*"crc32:([0-9a-f]{8})"')


def header_crc(raw):
    """descent's header checksum of a file: the CRC-32 of the length and the header with
    the checksum's own 8 hex digits read as '0'; (stored, computed), or None without one."""
    (n,) = struct.unpack("<Q", raw[:8])
    m = HEADER_CRC.search(raw[8:8 + n])
    if not m:
        return None
    at = 8 + m.start(1)
    return int(m.group(1), 16), zlib.crc32(raw[:at] + b"0" * 8 + raw[at + 8:8 + n])


def seal(path):
    """Writes the header checksum of the file at path again, as a writer must after
    changing a header (the way it writes the data checksum)."""
    raw = bytearray(open(path, "rb").read())
    (n,) = struct.unpack("<Q", raw[:8])
    m = HEADER_CRC.search(bytes(raw[8:8 + n]))
    at = 8 + m.start(1)
    raw[at:at + 8] = b"0" * 8
    raw[at:at + 8] = b"%08x" % zlib.crc32(bytes(raw[:8 + n]))
    open(path, "wb").write(bytes(raw))


def read_safetensors(path):
    """Reads a file the way the specification describes it; raises on any violation."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert 8 + n <= len(raw), "header runs past the end"
    header_bytes = raw[8:8 + n]
    assert header_bytes[:1] == b"{", "header must start with {"
    text = header_bytes.decode("utf-8")
    header = json.loads(text, object_pairs_hook=no_duplicates)
    crc = header_crc(raw)
    assert crc is None or crc[0] == crc[1], "header checksum mismatch"
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()), "metadata must be str->str"
    spans = []
    for name, t in header.items():
        assert set(t) == {"dtype", "shape", "data_offsets"}, name
        assert t["dtype"] in DTYPE_SIZE, name
        assert all(isinstance(d, int) and d >= 0 for d in t["shape"]), name
        begin, end = t["data_offsets"]
        count = 1
        for d in t["shape"]:
            count *= d
        assert end - begin == count * DTYPE_SIZE[t["dtype"]], name
        spans.append((begin, end, name))
    spans.sort()
    at = 0
    for begin, end, name in spans:
        assert begin == at, "gap or overlap at " + name
        at = end
    assert at == len(data), "the data section is not entirely indexed"
    tensors = {name: (t["dtype"], t["shape"], data[t["data_offsets"][0]:t["data_offsets"][1]])
               for name, t in header.items()}
    return n, text, meta, tensors, data


def write_safetensors(path, tensors, meta, order=None, indent=None, align=True):
    """tensors: name -> (dtype, shape, bytes). order: the data order (names)."""
    names = order or list(tensors)
    header, data, at = {}, b"", 0
    if meta is not None:
        header["__metadata__"] = meta
    for name in names:
        dtype, shape, blob = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [at, at + len(blob)]}
        data += blob
        at += len(blob)
    # a different key order in the JSON than in the data
    header = dict(reversed(list(header.items())))
    text = json.dumps(header, indent=indent).encode("utf-8")
    if align:
        text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    return data


def descent(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True)


def result(out):
    o = json.loads(out)
    return o["loss"], o["x"]


def refused(path, what):
    for cmd in (["inspect", path], ["optimize", "--resume", path, "--steps", "3"]):
        r = descent(*cmd)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 1 and len(lines) == 1 and not r.stdout,
              f"{what}: descent {cmd[0]} exit {r.returncode}, stderr {r.stderr!r}")


def main():
    tmp = tempfile.mkdtemp()
    p = lambda name: os.path.join(tmp, name)
    spec = "adam(lr=1e-2, amsgrad=true)"
    base = ["optimize", "--problem", "rosenbrock(n=4)", "--optimizer", spec, "--dtype", "f32"]

    # 1. our file, read independently
    r = descent(*base, "--steps", "17", "--save", p("a.st"), "--json")
    check(r.returncode == 0, "save: " + r.stderr)
    n, text, meta, tensors, data = read_safetensors(p("a.st"))
    check((8 + n) % 8 == 0, "the data section starts 8-byte aligned")
    check(text == text.rstrip(" ") + " " * (len(text) - len(text.rstrip(" "))), "padding is spaces")
    check(meta.get("format") == "descent.checkpoint" and meta.get("format_version") == "1", "format keys")
    check(meta.get("optimizer") == "adam" and meta.get("step") == "17" and meta.get("groups") == "1", "counters")
    check(meta.get("group.0.hparams") == "adam(lr=0.01, amsgrad=true)", "hparams: " + str(meta.get("group.0.hparams")))
    check(meta.get("extra.problem") == "rosenbrock(n=4)", "extra.problem")
    check(meta.get("checksum") == "crc32:%08x" % zlib.crc32(data), "checksum is zlib's crc32 of the data")
    check(list(meta)[-1] == "header_checksum" and header_crc(open(p("a.st"), "rb").read()) is not None,
          "the last metadata key is the header checksum (read_safetensors checked its value)")
    check(sorted(tensors) == ["param/x", "state/x/exp_avg", "state/x/exp_avg_sq", "state/x/max_exp_avg_sq"],
          "tensor names: " + str(sorted(tensors)))
    dtype, shape, blob = tensors["param/x"]
    check(dtype == "F32" and shape == [4], "param/x is F32 [4]")
    check(list(struct.unpack("<4f", blob)) == json.loads(r.stdout)["x"], "param/x holds the final point")
    check(all(v >= 0 for v in struct.unpack("<4f", tensors["state/x/exp_avg_sq"][2])), "exp_avg_sq >= 0")

    want = result(descent(*base, "--steps", "40", "--json").stdout)
    ours = descent("optimize", "--resume", p("a.st"), "--steps", "23", "--json")
    check(ours.returncode == 0 and result(ours.stdout) == want, "resume of our file")

    # 1b. a weight average and schedule-free, read independently: param/x is the
    # evaluation point x (the point the command reports, and state/x/x), and
    # average/x/ema is the EMA of the trace's points, recomputed here in float64
    sf = ["optimize", "--problem", "rosenbrock(n=3)", "--optimizer", "schedulefree_adamw(lr=1e-2)",
          "--average", "ema(decay=0.9)", "--steps", "17", "--save", p("sf.st"), "--trace", p("sf.csv"), "--json"]
    r = descent(*sf)
    check(r.returncode == 0, "save with --average: " + r.stderr)
    _, _, meta_sf, t_sf, _ = read_safetensors(p("sf.st"))
    out = json.loads(r.stdout)
    unpack = lambda name: list(struct.unpack("<3d", t_sf[name][2]))
    check(sorted(t_sf) == ["average/x/ema", "param/x", "state/x/exp_avg_sq", "state/x/x", "state/x/z"],
          "tensor names with an average: " + str(sorted(t_sf)))
    check(meta_sf.get("average") == "ema(decay=0.90000000000000002, every=1, start=0)", "average spec")
    check(meta_sf.get("average.updates") == "17" and meta_sf.get("average.averaged") == "17", "average counters")
    check(unpack("param/x") == out["x"] == unpack("state/x/x"), "schedule-free's param/x is x")
    rows = [list(map(float, line.split(",")[2:])) for line in open(p("sf.csv")).read().splitlines()[1:]]
    ema = None
    for point in rows[1:]:  # the points after steps 1..17 (the trace holds y, the training point)
        ema = list(point) if ema is None else [a + (1 - 0.9) * (q - a) for a, q in zip(ema, point)]
    check(unpack("average/x/ema") == out["average_x"] == ema, f"average/x/ema {unpack('average/x/ema')} vs {ema}")

    # 2a. the same checkpoint rewritten here: other data order, JSON layout, no padding
    rev = list(reversed(list(tensors)))
    for i, (indent, align) in enumerate([(None, True), (2, False), (None, False)]):
        name = p(f"rewritten{i}.st")
        d = write_safetensors(name, tensors, None, order=rev, indent=indent, align=align)
        m = dict(reversed(list(meta.items())))
        m["checksum"] = "crc32:%08x" % zlib.crc32(d)
        if i == 2:  # a writer that does not know the header checksum drops it
            del m["header_checksum"]
        write_safetensors(name, tensors, m, order=rev, indent=indent, align=align)
        if i < 2:  # one that does writes it again
            seal(name)
        got = descent("optimize", "--resume", name, "--steps", "23", "--json")
        check(got.returncode == 0 and result(got.stdout) == want, f"resume of rewritten file {i}: {got.stderr}")

    # 2b. a checkpoint made from scratch: plain SGD at (0.5, -0.25), one step
    x = (0.5, -0.25)
    blob = struct.pack("<2d", *x)
    scratch = {"format": "descent.checkpoint", "format_version": "1", "optimizer": "sgd", "groups": "1",
               "group.0.hparams": "sgd(lr=0.001)", "group.0.mu_product": "1", "group.0.weight_sum": "0",
               "group.0.lr_max": "0", "accumulate.count": "0", "accumulate.loss_sum": "0",
               "step": "0", "skipped": "0",
               "consecutive_skips": "0", "extra.problem": "rosenbrock", "checksum": "crc32:%08x" % zlib.crc32(blob)}
    write_safetensors(p("scratch.st"), {"param/x": ("F64", [2], blob)}, scratch)
    got = descent("optimize", "--resume", p("scratch.st"), "--steps", "1", "--json")
    check(got.returncode == 0, "resume of a file written from scratch: " + got.stderr)
    if got.returncode == 0:
        a = x[1] - x[0] ** 2
        g = (-400 * x[0] * a - 2 * (1 - x[0]), 200 * a)
        step = [x[i] - 0.001 * g[i] for i in range(2)]
        got_x = json.loads(got.stdout)["x"]
        check(all(abs(got_x[i] - step[i]) <= 1e-15 for i in range(2)), f"one SGD step: {got_x} vs {step}")

    # 2c. a foreign file: dtypes descent does not optimize, a scalar, no metadata
    foreign = {"emb": ("F16", [2, 3], bytes(12)), "ids": ("I64", [3], struct.pack("<3q", 1, 2, 3)),
               "mask": ("BOOL", [4], bytes([1, 0, 1, 1])), "scale": ("BF16", [], bytes(2))}
    write_safetensors(p("foreign.st"), foreign, {"format": "pt"})
    got = descent("inspect", "--json", p("foreign.st"))
    check(got.returncode == 0, "inspect of a foreign file: " + got.stderr)
    if got.returncode == 0:
        listed = {t["name"]: (t["dtype"], t["shape"], t["bytes"]) for t in json.loads(got.stdout)["tensors"]}
        check(listed == {k: (v[0], v[1], len(v[2])) for k, v in foreign.items()}, "inspect lists " + str(listed))
    refused_resume = descent("optimize", "--resume", p("foreign.st"), "--steps", "1")
    check(refused_resume.returncode == 1 and len(refused_resume.stderr.splitlines()) == 1, "a foreign file does not resume")

    # 3. damaged files written here
    raw = open(p("a.st"), "rb").read()
    def damaged(name, blob):
        with open(p(name), "wb") as f:
            f.write(blob)
        refused(p(name), name)
    damaged("flipped.st", raw[:-1] + bytes([raw[-1] ^ 1]))
    damaged("truncated.st", raw[:-5])
    damaged("absurd.st", struct.pack("<Q", 1 << 40) + raw[8:])
    damaged("notjson.st", raw[:8] + b"{" + b"x" * (n - 1) + raw[8 + n:])
    bad_meta = dict(meta)
    bad_meta["step"] = 17
    write_safetensors(p("badmeta.st"), tensors, bad_meta)
    refused(p("badmeta.st"), "non-string metadata")
    hole = dict(tensors)
    hole["param/x"] = ("F32", [3], tensors["param/x"][2][:12])
    m = dict(meta)
    m["checksum"] = "crc32:%08x" % zlib.crc32(write_safetensors(p("shape.st"), hole, meta))
    write_safetensors(p("shape.st"), hole, m)
    seal(p("shape.st"))
    r = descent("optimize", "--resume", p("shape.st"), "--steps", "1")
    check(r.returncode == 1 and "shape [3] in the checkpoint, [4]" in r.stderr, "wrong shape: " + r.stderr)

    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)
    if failures:
        print(f"{len(failures)} interop checks failed")
        return 1
    print("all safetensors interop checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
