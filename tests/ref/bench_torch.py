#!/usr/bin/python3
"""bench_torch.py: the PyTorch side of `make bench`, same interface and same work as sdlm bench.

    /usr/bin/python3 tests/ref/bench_torch.py --what train  --V 4000 --E 64 --D 256 --layers 4 \\
        --B 32 --L 64 --iters 5 --json
    /usr/bin/python3 tests/ref/bench_torch.py --what sample --V 8000 --E 64 --D 512 --layers 8 \\
        --B 1 --L 64 --steps 200 --json

Settings: 2 threads, dropout 0, seed 0, random weights (the spec's init), random ids, every
length L, conditional masks drawn by the recipe (span, shuffled half the time).

train: one timed iteration = a full training step (its batch of ids, t, z and masks is drawn
  just before the timer starts, as sdlm bench does): the loss with the
  self-conditioning pass on for odd iterations and off for even ones (0-based, so both
  implementations do the same average work), backward, clip to 1.0, one AdamW step; after one
  untimed warm-up step (self-conditioning on). ms_per_step = mean over iters;
  tokens_per_s = B*L / that mean.
sample: difflm sampling of B sequences of L for `steps` steps, after one untimed warm-up step.
  ms_per_step = mean time of one reverse step (estimator + interp + update);
  tokens_per_s = B*L / (steps reverse steps + the final t=0 pass), i.e. finished tokens a second.

Prints one JSON line with --json (human text otherwise): impl, what, shapes, iters or steps,
tokens_per_s, ms_per_step, peak_rss_mb (ru_maxrss of this process: includes torch itself), and
the 1-minute load average seen before the run: on the shared 2-core machine, two torch threads
slow down by orders of magnitude when another process holds a core, so figures taken under load
are not comparable.
"""
import argparse
import json
import os
import random
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def make_batch(cfg, B, L, rng, gen):
    ids = torch.randint(0, cfg.V, (B, L), generator=gen)
    lengths = torch.full((B,), L, dtype=torch.int64)
    cond = torch.tensor([M.draw_cond_mask(L, L, rng) for _ in range(B)], dtype=torch.bool)
    t = M.draw_t(B, gen)
    z = torch.randn(B, L, cfg.E, generator=gen)
    return dict(ids=ids, lengths=lengths, cond_mask=cond, t=t, z=z)


def bench_train(model, cfg, args, rng, gen):
    opt = M.make_optimizer(model, lr=1e-4)
    model.train()
    M.train_step(model, opt, make_batch(cfg, args.B, args.L, rng, gen), selfcond=True)  # warm-up
    times = []
    for i in range(args.iters):
        batch = make_batch(cfg, args.B, args.L, rng, gen)  # drawn outside the timer, as sdlm bench
        t0 = time.perf_counter()
        M.train_step(model, opt, batch, selfcond=(i % 2 == 1))
        times.append(time.perf_counter() - t0)
    step = sum(times) / len(times)
    return step * 1e3, args.B * args.L / step, times


@torch.no_grad()
def bench_sample(model, cfg, args, gen):
    model.eval()
    B, L, S = args.B, args.L, args.steps
    x = torch.randn(B, L, cfg.E, generator=gen)
    eps = torch.randn(S, B, L, cfg.E, generator=gen)
    zero = torch.zeros_like(x)

    def step(s, x, x_sc):
        t_now, t_next = M.sampler_times(s, S, B)
        _, latent = model.estimator(torch.cat((x, zero, x_sc), -1), t_now)
        x_sc = model.interp(latent)
        return M.reverse_step("difflm", x, x_sc, t_now, t_next, eps[s]), x_sc

    step(0, x, zero)  # warm-up
    x_sc = zero
    t0 = time.perf_counter()
    for s in range(S):
        x, x_sc = step(s, x, x_sc)
    t1 = time.perf_counter()
    _, latent = model.estimator(torch.cat((x, zero, x_sc), -1), torch.zeros(B))
    model.logits(latent).argmax(-1)
    t2 = time.perf_counter()
    return (t1 - t0) / S * 1e3, B * L / (t2 - t0), [t1 - t0, t2 - t1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--what", choices=("train", "sample"), required=True)
    ap.add_argument("--V", type=int, default=8000)
    ap.add_argument("--E", type=int, default=64)
    ap.add_argument("--D", type=int, default=512)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--rotary", type=int, default=0, help="rotary dims (0: min(32, D/heads))")
    ap.add_argument("--B", type=int, default=32)
    ap.add_argument("--L", type=int, default=64)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    torch.manual_seed(0)
    rng = random.Random(0)
    gen = torch.Generator().manual_seed(0)
    R = args.rotary or min(32, args.D // args.heads)
    cfg = M.Config(V=args.V, E=args.E, D=args.D, NL=args.layers, H=args.heads, R=R)
    model = M.Model(cfg)

    if args.what == "train":
        ms, tps, times = bench_train(model, cfg, args, rng, gen)
    else:
        ms, tps, times = bench_sample(model, cfg, args, gen)

    out = {"impl": "pytorch", "what": args.what, "V": cfg.V, "E": cfg.E, "D": cfg.D,
           "layers": cfg.NL, "heads": cfg.H, "rotary_dim": cfg.R, "B": args.B, "L": args.L}
    if args.what == "train":
        out["iters"] = args.iters
    else:
        out["steps"] = args.steps
    out.update({"tokens_per_s": round(tps, 2), "ms_per_step": round(ms, 3),
                "peak_rss_mb": round(peak_rss_mb(), 1), "threads": args.threads,
                "torch": torch.__version__, "loadavg_1m_before": round(load_before, 2)})
    if args.json:
        print(json.dumps(out), flush=True)
    else:
        print(f"pytorch {args.what}: {ms:.1f} ms/step, {tps:.1f} tokens/s, "
              f"peak RSS {out['peak_rss_mb']} MB; timings (s) {[round(t, 4) for t in times]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
