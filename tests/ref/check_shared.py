#!/usr/bin/python3
"""check_shared.py: prove the port against a fixture written by the seed's own PyTorch code.

    /usr/bin/python3 tests/ref/check_shared.py [FIXTURE] [--explore] [--quiet]

Loads the fixture (default /work/shared/fixtures/seed-parity-l2.safetensors, or $SDLM_SHARED),
replays its sampling, loss, gradients and one AdamW step with the port, prints the worst error per
expectation and exits non-zero if any is outside its tolerance (see parity.py).

--explore also reruns everything with each alternative in model.VARIANT switched on, one at a
time, and says which expectations each alternative breaks: that is how NOTES.md knows which
reading of the spec the seed really follows.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import parity  # noqa: E402
import st  # noqa: E402

DEFAULT = os.path.join(os.environ.get("SDLM_SHARED", "/work/shared"),
                       "fixtures", "seed-parity-l2.safetensors")

ALTERNATIVES = [
    ("time_order", "cos_sin"),
    ("x_cond", "x_t"),
    ("mse_target_grad", True),
    ("rotary", "half"),
    ("rotary_base", "hd"),
    ("key_mask_only", True),
    ("time_f64", True),
    ("gelu", "tanh"),
    ("film_one_plus", True),
    ("sc_source", "x_est"),
    ("sc_zero_cond", False),
    ("project_len_zero", True),
    ("final_sc_zero", True),
    ("parity:flip_coin", True),
    ("parity:clip", False),
    ("parity:adam_l2", True),
]


def run(path, verbose=True):
    tensors, meta = st.load(path)
    inputs, want = parity.split_fixture(tensors)
    got = parity.compute(inputs, meta)
    rows = parity.compare(want, got, float(meta["lr"]))
    return rows, meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("fixture", nargs="?", default=DEFAULT)
    ap.add_argument("--explore", action="store_true", help="try each alternative reading")
    ap.add_argument("--quiet", action="store_true", help="print failures and the summary only")
    args = ap.parse_args()
    torch.set_num_threads(2)

    rows, meta = run(args.fixture)
    print(f"# {args.fixture}")
    print("# " + " ".join(f"{k}={v}" for k, v in meta.items()))
    fails = parity.report(rows, verbose=not args.quiet)
    print(f"# {len(rows) - fails} passed, {fails} failed")

    if args.explore:
        for key, value in ALTERNATIVES:
            table, k = (parity.OPTIONS, key[7:]) if key.startswith("parity:") else (M.VARIANT, key)
            saved = table[k]
            table[k] = value
            try:
                alt_rows, _ = run(args.fixture)
            finally:
                table[k] = saved
            bad = [r for r in alt_rows if not r[3]]
            names = ", ".join(r[0] for r in bad[:6]) + (" ..." if len(bad) > 6 else "")
            print(f"# explore {key}={value!r}: {len(bad)} expectations fail"
                  + (f" ({names})" if bad else " (fixture cannot tell)"))
            for r in alt_rows:
                if r[0] in ("loss", "sample_x", "grad.embedding.weight", "grad_norm"):
                    print(f"#     {r[0]:24s} worst {r[1]:.3e} (allow {r[2]:.1e})")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
