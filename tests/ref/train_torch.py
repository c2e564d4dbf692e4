#!/usr/bin/python3
"""train_torch.py: trains the PyTorch port on a corpus for a wall-clock budget, the seed's recipe.

    /usr/bin/python3 tests/ref/train_torch.py -d share/corpus.txt -spm share/tokenizer.model \
        -ckpt /tmp/c-torch.safetensors -edim 64 -mdim 256 -numl 4 -b 32 -lr 3e-4 -wup 100 \
        -cl 64 --seed 1 --threads 1 --minutes 10

The yardstick for `sdlm train --recipe seed` at equal wall-clock time (issue 3). The recipe is
docs/model-spec.md's: SentencePiece subword sampling (alpha 0.1, nbest 5), EOS, crop to -cl; the
seed's conditional masks; each length drawn from U{own length .. batch longest}; one
self-conditioning coin per batch; AdamW betas (0.9, 0.99), clipping 1.0, linear warm-up then
linear decay to 0.1 x lr. The weights are written as safetensors under the seed's names, with
metadata heads/rotary_dim, so `sdlm eval -ckpt FILE -spm MODEL` reads them. A JSON summary
(steps, tokens, seconds, tokens/s) goes to stdout.
"""
import argparse
import json
import os
import random
import sys
import time

import sentencepiece as spm
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import st  # noqa: E402


def lr_at(step, lr, warmup, decay):
    """The seed's linear_decay_with_warmup (src/adamw.c lr_at)."""
    if warmup > 0 and step < warmup:
        return lr * step / warmup
    frac = 1.0 - (step - warmup) / decay if decay > 0 else 1.0
    return lr * max(frac, 0.1)


def encode(sp, line, crop):
    """Subword-sampled pieces, cropped to crop-1, then EOS."""
    ids = sp.encode(line, enable_sampling=True, alpha=0.1, nbest_size=5)[: crop - 1]
    return ids + [sp.eos_id()]


def collate(seqs, pad, rng):
    """ids [B, Lb], lengths [B], cond_mask [B, Lb] for one batch (the seed's rules)."""
    longest = max(len(s) for s in seqs)
    ids = [s + [pad] * (longest - len(s)) for s in seqs]
    lengths = [rng.randint(len(s), longest) for s in seqs]
    cond = [M.draw_cond_mask(len(s), longest, rng) for s in seqs]
    return torch.tensor(ids), torch.tensor(lengths), torch.tensor(cond), sum(lengths)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-d", "--data_path", required=True)
    ap.add_argument("-spm", "--spm_model", required=True)
    ap.add_argument("-ckpt", "--checkpoint", required=True)
    ap.add_argument("-b", "--batch_size", type=int, default=256)
    ap.add_argument("-lr", "--learning_rate", type=float, default=1e-4)
    ap.add_argument("-wup", "--warmup_steps", type=int, default=2000)
    ap.add_argument("-decs", "--decay_steps", type=int, default=800000)
    ap.add_argument("-wd", "--weight_decay", type=float, default=1e-4)
    ap.add_argument("-edim", "--embedding_dim", type=int, default=64)
    ap.add_argument("-mdim", "--model_dim", type=int, default=512)
    ap.add_argument("-numl", "--num_layers", type=int, default=8)
    ap.add_argument("-do", "--dropout_prob", type=float, default=0.1)
    ap.add_argument("-cl", "--crop_length", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--steps", type=int, default=0, help="also stop after N steps (0: no limit)")
    ap.add_argument("--log-every", type=int, default=50)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    sp = spm.SentencePieceProcessor(model_file=a.spm_model)
    spm.set_random_generator_seed(a.seed + 1)  # SentencePiece samples with its own generator
    pad = sp.pad_id() if sp.pad_id() >= 0 else 0
    with open(a.data_path, encoding="utf-8") as f:
        lines = [ln.rstrip("\n") for ln in f if ln.strip()]

    cfg = M.Config(V=sp.get_piece_size(), E=a.embedding_dim, D=a.model_dim, NL=a.num_layers,
                   dropout=a.dropout_prob)
    model = M.Model(cfg).train()
    opt = M.make_optimizer(model, lr=a.learning_rate, weight_decay=a.weight_decay)

    step, tokens, order, pos = 0, 0, [], 0
    start = time.monotonic()
    while time.monotonic() - start < a.minutes * 60 and (a.steps == 0 or step < a.steps):
        if pos >= len(order):                      # a new epoch: a fresh shuffle
            order, pos = list(range(len(lines))), 0
            rng.shuffle(order)
        seqs = [encode(sp, lines[i], a.crop_length) for i in order[pos: pos + a.batch_size]]
        pos += a.batch_size
        ids, lengths, cond, ntok = collate(seqs, pad, rng)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, a.learning_rate, a.warmup_steps, a.decay_steps)
        batch = dict(ids=ids, lengths=lengths, cond_mask=cond, t=M.draw_t(len(seqs)),
                     z=torch.randn(ids.shape[0], ids.shape[1], cfg.E))
        out, _ = M.train_step(model, opt, batch, selfcond=rng.random() < 0.5)
        step, tokens = step + 1, tokens + ntok
        if step % a.log_every == 0:
            print(f"step {step} loss {out['loss'].item():.4f} acc {out['accuracy'].item():.4f} "
                  f"{tokens / (time.monotonic() - start):.0f} tok/s", file=sys.stderr, flush=True)
    seconds = time.monotonic() - start

    meta = {"heads": str(cfg.H), "rotary_dim": str(cfg.R), "step": str(step),
            "trainer": "tests/ref/train_torch.py"}
    st.save(a.checkpoint, model.state_dict(), metadata=meta)
    print(json.dumps(dict(steps=step, tokens=tokens, seconds=round(seconds, 1),
                          tokens_per_s=round(tokens / seconds, 1), checkpoint=a.checkpoint)))


if __name__ == "__main__":
    main()
