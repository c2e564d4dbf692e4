"""st.py: a tiny safetensors reader/writer on numpy (no safetensors package here).

Format: 8-byte little-endian header length N, N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}
padded with spaces to a multiple of 8, then the raw little-endian data.
Tensors are written in the order given, contiguous, offsets relative to the data section.
"""
import json
import struct
from collections import OrderedDict

import numpy as np

_NP = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_ST = {v: k for k, v in _NP.items()}


def _bf16_to_f32(raw):
    u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
    return u.view(np.float32)


def _f32_to_bf16(a):
    """Round-to-nearest-even, as torch does."""
    u = np.ascontiguousarray(a, dtype="<f4").view(np.uint32)
    rounding = ((u >> 16) & 1) + 0x7FFF
    return ((u + rounding) >> 16).astype("<u2")


def load(path):
    """Returns (OrderedDict name -> numpy array, metadata dict or None).
    BF16 tensors come back as float32."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    if n > 100 << 20 or 8 + n > len(buf):
        raise ValueError(f"{path}: bad header length {n}")
    header = json.loads(buf[8:8 + n].decode("utf-8"), object_pairs_hook=OrderedDict)
    meta = header.pop("__metadata__", None)
    data = memoryview(buf)[8 + n:]
    out = OrderedDict()
    for name, info in header.items():
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        dt = info["dtype"]
        raw = data[b:e]
        if dt == "BF16":
            arr = _bf16_to_f32(raw)
        else:
            arr = np.frombuffer(raw, dtype=_NP[dt]).copy()
        count = int(np.prod(shape)) if shape else 1
        if arr.size != count:
            raise ValueError(f"{path}: {name}: {arr.size} elements for shape {shape}")
        out[name] = arr.reshape(shape)
    return out, meta


# The Rust safetensors writer (behind safetensors.torch.save_file) lays tensors out by dtype,
# larger alignment first, then by name; its JSON is compact. Rank = position in its Dtype enum.
_RUST_RANK = {"BOOL": 0, "U8": 1, "I8": 2, "I16": 5, "F16": 7, "BF16": 8, "I32": 9, "F32": 11,
              "F64": 12, "I64": 13}


def save(path, tensors, metadata=None, bf16=(), rust_layout=False):
    """tensors: mapping name -> numpy array (or torch tensor), written in that order (the way
    Python json.dumps writes a header, like the seed's fixture), or with rust_layout=True the way
    safetensors.torch.save_file does (sorted by dtype then name, compact JSON).
    metadata: dict of str -> str, or None for no __metadata__ at all.
    bf16: names to store as BF16 (from float32)."""
    header = OrderedDict()
    if metadata is not None and rust_layout:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
        metadata = None
    blobs = []
    off = 0
    items = list(tensors.items())
    if rust_layout:
        def dt_of(kv):
            if kv[0] in bf16:
                return "BF16"
            a = np.asarray(kv[1].detach().cpu().numpy() if hasattr(kv[1], "detach") else kv[1])
            return _ST[a.dtype.newbyteorder("<") if a.dtype.itemsize > 1 else a.dtype]
        items.sort(key=lambda kv: (-_RUST_RANK[dt_of(kv)], kv[0]))
    for name, a in items:
        if hasattr(a, "detach"):
            a = a.detach().cpu().numpy()
        a = np.asarray(a)
        if name in bf16:
            raw = _f32_to_bf16(a).tobytes()
            dt = "BF16"
        else:
            dt = _ST.get(a.dtype.newbyteorder("<") if a.dtype.itemsize > 1 else a.dtype)
            if dt is None:
                raise ValueError(f"{name}: unsupported dtype {a.dtype}")
            raw = np.ascontiguousarray(a, dtype=_NP[dt]).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hb = json.dumps(header, separators=(",", ":") if rust_layout else None).encode("utf-8")
    hb += b" " * ((-len(hb)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for raw in blobs:
            f.write(raw)
