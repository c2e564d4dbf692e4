#!/usr/bin/python3
"""make_fixture.py: write a parity fixture in the shared format (docs/model-spec.md).

    /usr/bin/python3 tests/ref/make_fixture.py OUT.safetensors [shape and option flags]
    /usr/bin/python3 tests/ref/make_fixture.py --all tests/fixtures     # the committed set
    /usr/bin/python3 tests/ref/make_fixture.py --verify FIXTURE...      # re-check existing files

A fixture holds the weights under the seed's names, input.* draws and every expect.* the port
computes from them (float32, dropout 0), plus __metadata__ strings: the spec's keys
(V E D layers heads rotary_dim B L selfcond sample_steps sampler lr), then seed and generator.
Only when --ffn, --time-freqs or --time-hidden leave the seed's 4*D, 64, 128 (which changes
tensor shapes) are ffn, time_freqs, time_hidden added: an engine that hard-codes the seed's
values must refuse such a file. --infill adds input.infill_* and expect.infill_* (NOTES.md).

Every new fixture is re-loaded and checked against the port (float32 and float64): if float64
disagrees by more than a tenth of a tolerance, or any argmax is a near tie, the fixture is
fragile and the script fails rather than commit a test that breaks on rounding.
"""
import argparse
import os
import random
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import parity  # noqa: E402
import st  # noqa: E402

GENERATOR = "tests/ref/make_fixture.py"
MIN_MARGIN = 1e-3   # smallest allowed gap between the top two logits wherever an argmax counts

# The committed set: name -> options. Every one keeps the seed's fixed architecture (time MLP of
# 64 frequencies and 128 hidden, F = 4*D) so an engine that hard-codes those loads them as they
# are. That time MLP is ~250 KB over weights, grads and step1, which is why D is tiny here and
# why infilling rides along in two fixtures instead of having a file of its own; the shared seed
# fixture covers realistic widths.
FIXTURES = {
    # two layers; one head with rotary on 4 of its 8 features (so f_j = 10000^(-2j/R) is told
    # apart from 10000^(-2j/hd)); every length different; mixed cond masks
    "parity-rot-small": dict(V=20, E=6, D=8, layers=2, heads=1, rotary=4, B=3, L=7,
                             lengths="7,4,6", selfcond=1, sampler="difflm", steps=4, seed=12,
                             infill=True),
    # no self-conditioning pass; rotary over the whole head; 5 steps (t = 0.8, 0.6, ...)
    "parity-nosc": dict(V=20, E=6, D=8, layers=1, heads=2, rotary=4, B=3, L=6,
                        lengths="6,5,3", selfcond=0, sampler="difflm", steps=5, seed=2,
                        infill=True),
    "parity-ddim": dict(V=20, E=6, D=8, layers=1, heads=2, rotary=4, B=2, L=6, lengths="6,4",
                        selfcond=1, sampler="ddim", steps=5, seed=3),
    "parity-ddpm": dict(V=20, E=6, D=8, layers=1, heads=2, rotary=4, B=2, L=6, lengths="5,6",
                        selfcond=1, sampler="ddpm", steps=5, seed=4),
}


def perturb(model, gen):
    """Weights with every feature switched on: O(1) activations so attention and rotary matter,
    non-trivial LayerNorm affine, non-zero biases (the spec's init would hide mistakes)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "embedding.weight":
                p.normal_(0.0, 0.1, generator=gen)
            elif name == "norm.weight":
                p.normal_(1.0, 0.2, generator=gen)
            elif name == "estimator.time_mlp.0.weights":
                p.normal_(0.0, 1.0, generator=gen)
            elif name.endswith(".bias"):
                p.normal_(0.0, 0.1, generator=gen)
            else:  # linear weights [out, in]
                p.normal_(0.0, 1.0 / p.shape[1] ** 0.5, generator=gen)


def cond_masks(lengths, L, rng):
    """Row b % 3: 0 no conditional position, 1 a contiguous span, 2 scattered positions (the
    recipe's shuffled mask); spans drawn as the recipe does, at least one position each."""
    out = []
    for b, n in enumerate(lengths):
        mask = [False] * L
        if b % 3 and n > 1:
            m = rng.randint(1, n - 1)
            start = rng.randint(0, n - m)
            mask[start:start + m] = [True] * m
            if b % 3 == 2:
                head = mask[:n]
                rng.shuffle(head)
                mask[:n] = head
        out.append(mask)
    return np.array(out, dtype=np.uint8)


def infill_inputs(B, L, V, rng, gen):
    """Row b % 3: 0 a known prefix, 1 known first and last in-length tokens plus one in the
    middle, 2 nothing known (length-masked unconditional sampling). Lengths differ per row."""
    ids = torch.randint(0, V, (B, L), generator=gen).numpy()
    lengths = np.array([max(2, L - (b % 3)) for b in range(B)], dtype=np.int64)
    known = np.zeros((B, L), dtype=np.uint8)
    for b in range(B):
        n = int(lengths[b])
        if b % 3 == 0:
            known[b, :max(1, n // 2)] = 1
        elif b % 3 == 1:
            known[b, [0, n // 2, n - 1]] = 1
    ids = np.where(known == 1, ids, 0)      # unknown positions carry id 0: they must not matter
    return ids.astype(np.int64), known, lengths


def build_fixture(o):
    cfg = M.Config(V=o["V"], E=o["E"], D=o["D"], NL=o["layers"], H=o["heads"], R=o["rotary"],
                   F=o["ffn"], TF=o["time_freqs"], TH=o["time_hidden"])
    B, L, S = o["B"], o["L"], o["steps"]
    gen = torch.Generator().manual_seed(o["seed"])
    rng = random.Random(o["seed"])
    torch.manual_seed(o["seed"])
    model = M.Model(cfg)
    perturb(model, gen)

    lengths = [int(x) for x in o["lengths"].split(",")] if o["lengths"] else [L] * B
    if len(lengths) != B or not all(1 <= n <= L for n in lengths):
        raise SystemExit(f"--lengths needs {B} values in 1..{L}")
    tensors = dict((k, v.detach().clone().numpy()) for k, v in model.state_dict().items())
    tensors["input.x_T"] = torch.randn(B, L, cfg.E, generator=gen).numpy()
    tensors["input.eps"] = torch.randn(S, B, L, cfg.E, generator=gen).numpy()
    if o["infill"]:
        ids, known, ilen = infill_inputs(B, L, cfg.V, rng, gen)
        tensors["input.infill_ids"], tensors["input.infill_known"] = ids, known
        tensors["input.infill_lengths"] = ilen
    tensors["input.ids"] = torch.randint(0, cfg.V, (B, L), generator=gen).numpy()
    tensors["input.lengths"] = np.array(lengths, dtype=np.int64)
    tensors["input.cond_mask"] = cond_masks(lengths, L, rng)
    tensors["input.t"] = M.draw_t(B, gen).numpy()
    tensors["input.z"] = torch.randn(B, L, cfg.E, generator=gen).numpy()
    nudge_ids(model, tensors, o["selfcond"], rng)

    meta = {**M.meta_from_config(cfg), "B": str(B), "L": str(L), "selfcond": str(o["selfcond"]),
            "sample_steps": str(S), "sampler": o["sampler"], "lr": repr(o["lr"]),
            "seed": str(o["seed"]), "generator": GENERATOR}
    got = parity.compute(tensors, meta)

    # Lay out like the seed's fixture: weights, sampling, (infill), training, grads, step.
    out = {k: tensors[k] for k in model.state_dict()}
    out["input.x_T"], out["input.eps"] = tensors["input.x_T"], tensors["input.eps"]
    for k in ("sample_x", "sample_logits", "sample_ids"):
        out["expect." + k] = got[k]
    if o["infill"]:
        for k in ("infill_ids", "infill_known", "infill_lengths"):
            out["input." + k] = tensors["input." + k]
        for k in ("infill_x", "infill_logits", "infill_ids"):
            out["expect." + k] = got[k]
    for k in ("ids", "lengths", "cond_mask", "t", "z"):
        out["input." + k] = tensors["input." + k]
    for k in parity.SCALARS:
        out["expect." + k] = got[k].astype(np.float32)
    for k in model.state_dict():
        out["expect.grad." + k] = got["grad." + k]
    out["expect.grad_norm"] = got["grad_norm"].astype(np.float32)
    for k in model.state_dict():
        out["expect.step1." + k] = got["step1." + k]
    return out, meta


def nudge_ids(model, tensors, selfcond, rng):
    """A random model scores ~1/V accuracy, so an accuracy of 0 would test nothing: set about a
    third of the scored targets to the model's own argmax (a few rounds, since x0 moves with
    the ids) so the expected accuracy is strictly between 0 and 1."""
    ids = tensors["input.ids"]
    L = ids.shape[1]
    diff = (np.arange(L)[None, :] < tensors["input.lengths"][:, None]) & (
        tensors["input.cond_mask"] == 0)
    pos = [tuple(p) for p in np.argwhere(diff)]
    pick = rng.sample(pos, max(1, len(pos) // 3))
    for _ in range(4):
        with torch.no_grad():
            out = model.eval().loss(torch.from_numpy(ids), torch.from_numpy(tensors["input.lengths"]),
                                    torch.from_numpy(tensors["input.cond_mask"]).bool(),
                                    torch.from_numpy(tensors["input.t"]),
                                    torch.from_numpy(tensors["input.z"]), bool(selfcond))
        acc = float(out["accuracy"])
        if 0 < acc < 1:
            break
        am = out["logits"].argmax(-1).numpy()
        for b, i in pick:
            ids[b, i] = am[b, i]
    else:
        raise SystemExit("could not make a batch with 0 < accuracy < 1: try another --seed")


def margins(tensors, got):
    """Smallest top-1 minus top-2 logit gap over every place an argmax is compared: sampled
    and infilled positions, and the training positions that count in the accuracy."""
    gap = lambda a: (lambda s: s[..., -1] - s[..., -2])(np.sort(a, axis=-1))
    worst = np.inf
    for k in ("expect.sample_logits", "expect.infill_logits"):
        if k in tensors:
            worst = min(worst, float(gap(tensors[k]).min()))
    L = tensors["input.ids"].shape[1]
    diff = (np.arange(L)[None, :] < tensors["input.lengths"][:, None]) & (
        tensors["input.cond_mask"] == 0)
    return min(worst, float(gap(got["train_logits"])[diff].min()))


def verify(path, quiet=True):
    """Re-load a fixture and check it with the port in float32 (must pass) and float64 (must
    pass within a tenth of every tolerance, ids identical). Returns True when both hold."""
    tensors, meta = st.load(path)
    inputs, want = parity.split_fixture(tensors)
    lr = float(meta["lr"])
    ok = True
    for dtype, frac in ((torch.float32, 1.0), (torch.float64, 0.1)):
        got = parity.compute(inputs, meta, dtype)
        if dtype == torch.float32:
            m = margins(tensors, got)
        rows = parity.compare(want, got, lr)
        bad = [r for r in rows if not (r[1] <= frac * r[2] if r[2] else r[1] == 0)]
        worst = max(rows, key=lambda r: (r[1] / r[2]) if r[2] else r[1])
        name = str(dtype).replace("torch.", "")
        print(f"  {name}: {len(rows) - len(bad)}/{len(rows)} within {frac:g} x tolerance; "
              f"worst {worst[0]} at {worst[1] / worst[2] if worst[2] else worst[1]:.3g} of it")
        for r in bad:
            print(f"    FAIL {r[0]}: {r[1]:.3e} (allow {frac * r[2]:.1e}) {r[4]}")
        ok = ok and not bad
    print(f"  smallest argmax margin (sample, infill, accuracy logits): {m:.3g}")
    if m < MIN_MARGIN:
        print(f"    FAIL margin below {MIN_MARGIN}")
        ok = False
    return ok


def write(path, o):
    tensors, meta = build_fixture(o)
    st.save(path, tensors, meta)
    print(f"{path}: {os.path.getsize(path)} bytes, " + " ".join(f"{k}={v}" for k, v in meta.items()))
    return verify(path)


def write_state_dict(path):
    """A tiny model's state_dict() as safetensors.torch.save_file would write it: no metadata,
    tensors sorted by name (all F32), compact header. H=2 and R=8 are not recorded in it."""
    torch.manual_seed(7)
    m = M.Model(M.Config(V=20, E=6, D=8, NL=2, H=2, R=4))
    perturb(m, torch.Generator().manual_seed(7))
    st.save(path, m.state_dict(), None, rust_layout=True)
    back, meta = st.load(path)
    assert meta is None and set(back) == set(m.state_dict())
    assert all(np.array_equal(back[k], v.numpy()) for k, v in m.state_dict().items())
    print(f"{path}: {os.path.getsize(path)} bytes, {len(back)} tensors, no metadata "
          f"(V=20 E=6 D=8 NL=2 F=32 time 64/128; built with H=2 R=4)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="*", help="output file (or directory with --all, or files to "
                                           "--verify)")
    ap.add_argument("--all", action="store_true", help="write the committed set into OUT dir")
    ap.add_argument("--verify", action="store_true", help="only re-check existing fixtures")
    ap.add_argument("--V", type=int, default=40)
    ap.add_argument("--E", type=int, default=8)
    ap.add_argument("--D", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--rotary", type=int, default=8, help="rotary dims per head (<= D/heads)")
    ap.add_argument("--ffn", type=int, default=0, help="feed-forward hidden (0: 4*D)")
    ap.add_argument("--time-freqs", type=int, default=64)
    ap.add_argument("--time-hidden", type=int, default=128)
    ap.add_argument("--B", type=int, default=2)
    ap.add_argument("--L", type=int, default=6)
    ap.add_argument("--lengths", default="", help="comma list of B lengths (default all L)")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--sampler", choices=("difflm", "ddim", "ddpm"), default="difflm")
    ap.add_argument("--selfcond", type=int, choices=(0, 1), default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--infill", action="store_true", help="add the infilling tensors")
    args = ap.parse_args()
    torch.set_num_threads(2)

    if args.verify:
        ok = True
        for path in args.out:
            print(path)
            ok = verify(path) and ok
        return 0 if ok else 1
    if args.all:
        outdir = args.out[0] if args.out else "tests/fixtures"
        os.makedirs(outdir, exist_ok=True)
        ok = True
        for name, o in FIXTURES.items():
            ok = write(os.path.join(outdir, name + ".safetensors"),
                       dict({"infill": False, "lr": 1e-3, "ffn": 0, "time_freqs": 64,
                             "time_hidden": 128}, **o)) and ok
        write_state_dict(os.path.join(outdir, "torch-state-dict.safetensors"))
        return 0 if ok else 1
    if len(args.out) != 1:
        ap.error("give one output file")
    o = {k: getattr(args, k) for k in ("V", "E", "D", "layers", "heads", "rotary", "ffn",
                                       "time_freqs", "time_hidden", "B", "L", "lengths", "steps",
                                       "sampler", "selfcond", "seed", "lr", "infill")}
    return 0 if write(args.out[0], o) else 1


if __name__ == "__main__":
    sys.exit(main())
