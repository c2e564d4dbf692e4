#!/usr/bin/env python3
"""Writes the committed seeds of tests/fuzz/corpus/sample (run from the repo root).

valid-* are trajectory blobs that must decode (test_traj checks); row-* are
"ROW:" inputs for fuzz_sample's table-row mode. Layouts: data/traj.h and the
bind_any() comment in tests/fuzz/fuzz_sample.c."""
import struct, os

def traj(S, L, V, masked, t, ids, conf):
    wide = V > 65535
    b = b"SDTJ" + bytes([1, 1 if wide else 0, 0, 0]) + struct.pack("<III", S, L, V)
    bm = bytearray((L + 7) // 8)
    for i in masked:
        bm[i // 8] |= 1 << (i % 8)
    b += bytes(bm)
    for s in range(S):
        b += struct.pack("<f", t[s])
        for i in range(L):
            b += struct.pack("<I" if wide else "<H", ids[s][i])
        b += bytes(conf[s])
    return b

def null(): return bytes([0])
def i64(v): return bytes([1]) + struct.pack("<q", v)
def real(v): return bytes([2]) + struct.pack("<d", v)
def small(v): return bytes([3, v + 8])
def text(s): s = s.encode(); return bytes([4]) + struct.pack("<H", len(s)) + s
def blob(b): return bytes([5]) + struct.pack("<H", len(b)) + b

small_traj = traj(2, 5, 1000, [1, 2], [1.0, 0.5], [[1, 2, 3, 4, 5], [1, 7, 8, 4, 5]],
                  [[255, 10, 20, 255, 255], [255, 200, 220, 255, 255]])
seeds = {
    "valid-u16-2x5": small_traj,
    "valid-u32-2x3": traj(2, 3, 70000, [0], [1.0, 0.0], [[69999, 0, 1], [65536, 0, 1]],
                          [[0, 255, 255], [128, 255, 255]]),
    "valid-u16-1x9": traj(1, 9, 50, [0, 8], [0.25], [list(range(9))], [[i * 20 for i in range(9)]]),
    "row-sample": b"ROW:" + bytes([0]) + i64(1) + real(1.7e9) + text("infill") + text("the {1} sat")
    + text("the cat sat") + small(0) + text("ddim") + small(2) + i64(42) + small(1) + text("/tmp/x.safetensors")
    + text("tiny") + real(0.5) + blob(small_traj),
    "row-sample-badmode": b"ROW:" + bytes([0]) + i64(1) + real(1.7e9) + text("other") + null() * 11,
    "row-run": b"ROW:" + bytes([1]) + i64(1) + real(1.7e9) + real(1.7e9) + null() + text("running")
    + text("{}") + text("tiny") + text("corpus.txt") + i64(100) + i64(3) + null() + null() + i64(-1)
    + small(1) + null() + i64(1) + i64(5) + text("elsewhere") + real(1.7e9),
    "row-run-badstatus": b"ROW:" + bytes([1]) + i64(1) + real(0) + null() * 2 + blob(b"\xff\x00x"),
    "row-metric": b"ROW:" + bytes([2]) + i64(1) + i64(10) + small(0) + real(3.5) + real(1.0) + real(2.5)
    + real(0.1) + real(1e-4) + real(0.9) + real(1000.0) + real(12.0) + small(0),
    "row-checkpoint": b"ROW:" + bytes([3]) + i64(1) + i64(1) + i64(500) + text("/etc/hostname")
    + real(1.7e9) + i64(10) + null() + real(0.5),
}
os.makedirs("tests/fuzz/corpus/sample", exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join("tests/fuzz/corpus/sample", name), "wb") as f:
        f.write(data)
os.makedirs("tests/fuzz/regress", exist_ok=True)
with open("tests/fuzz/regress/truncated-u16-2x5", "wb") as f:
    f.write(small_traj[:-1])
