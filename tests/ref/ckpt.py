#!/usr/bin/python3
"""ckpt.py: load a safetensors checkpoint (sdlm's, or a torch state_dict) into the port.

    /usr/bin/python3 tests/ref/ckpt.py CHECKPOINT [--heads H] [--rotary R]

The shape of the model is read from the tensors themselves (V, E from embedding.weight; D from
estimator.project.0.weight; layers from the encoder_layers.{i} names; F, time freqs and hidden
from their weights). Heads and rotary dims cannot be seen in any shape: they come from the
metadata keys "heads"/"rotary_dim" when present, else the flags, else the seed's 8 and 32.
Names the port does not have (sdlm's optim.*, ema.*, tokenizer.model, anything else) are
filtered out before load_state_dict(strict=False), and reported.
"""
import argparse
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import st  # noqa: E402

EXTRA_PREFIXES = ("optim.", "ema.", "tokenizer.")


def config_from_tensors(t, meta=None, heads=None, rotary=None):
    meta = meta or {}
    V, E = t["embedding.weight"].shape
    D = t["estimator.project.0.weight"].shape[0]
    NL = 1 + max(int(m.group(1)) for k in t
                 for m in [re.match(r"estimator\.encoder_layers\.(\d+)\.", k)] if m)
    return M.Config(V=V, E=E, D=D, NL=NL,
                    H=int(meta.get("heads", heads or 8)),
                    R=int(meta.get("rotary_dim", rotary or 32)),
                    F=t["estimator.encoder_layers.0.ffn.0.weight"].shape[0],
                    TF=t["estimator.time_mlp.0.weights"].shape[0],
                    TH=t["estimator.time_mlp.1.weight"].shape[0])


def load_checkpoint(path, heads=None, rotary=None):
    """Returns (model in eval mode, metadata or None, list of names that were skipped)."""
    t, meta = st.load(path)
    model = M.Model(config_from_tensors(t, meta, heads, rotary))
    ours = set(model.state_dict())
    weights = {k: torch.from_numpy(v.copy()) for k, v in t.items() if k in ours}
    skipped = [k for k in t if k not in ours]
    res = model.load_state_dict(weights, strict=False)
    if res.missing_keys:
        raise ValueError(f"{path}: missing weights {res.missing_keys}")
    return model.eval(), meta, skipped


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--heads", type=int)
    ap.add_argument("--rotary", type=int)
    args = ap.parse_args()
    model, meta, skipped = load_checkpoint(args.checkpoint, args.heads, args.rotary)
    print(f"{args.checkpoint}: {model.cfg}")
    print(f"  metadata: {meta}")
    kinds = sorted({k.split('.')[0] for k in skipped})
    print(f"  skipped {len(skipped)} names not in the model ({', '.join(kinds) or 'none'})")


if __name__ == "__main__":
    main()
