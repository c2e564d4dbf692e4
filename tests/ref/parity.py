"""parity.py: run the port on a parity fixture's inputs and compare with its expectations.

What it is: the one place that turns a fixture (weights + input.* + metadata) into the port's
own expect.* tensors (compute), and that checks two sets of expectations against each other with
the project's tolerances (compare). check_shared.py and make_fixture.py both use it.
What it is not: a test runner for the C engine.

Tolerances (|got - want| per element):
  loss, loss_mse, loss_ce, accuracy, grad_norm  <= 1e-5 * |want|
  grad.<name>                                   <= 1e-4 * max|want of that tensor|
  sample_x, sample_logits (and infill_*)        <= 1e-3 * |want| + 1e-5 * max|want of that tensor|
  sample_ids (and infill_ids)                   exactly equal
  step1.<name>                                  <= 1e-2 * lr, skipping elements whose reference
                                                   gradient is below 1e-5 of its tensor's largest
"""
import numpy as np
import torch

import model as M

SCALARS = ("loss", "loss_mse", "loss_ce", "accuracy")

# Alternatives outside the network, for check_shared.py --explore (defaults = the spec).
OPTIONS = {"flip_coin": False, "clip": True, "adam_l2": False}


def param_names(meta):
    cfg = M.config_from_meta(meta)
    return list(M.Model(cfg).state_dict().keys())


def build(tensors, meta, dtype=torch.float32):
    """A Model (eval mode, dropout 0) holding the fixture's weights."""
    torch.manual_seed(0)
    m = M.Model(M.config_from_meta(meta))
    missing = M.load_weights(m, tensors)
    if missing:
        raise ValueError(f"fixture lacks weights: {missing}")
    return m.to(dtype).eval()


def compute(tensors, meta, dtype=torch.float32):
    """Everything the fixture expects, computed by the port: dict name -> numpy array, keyed
    like the fixture without the 'expect.' prefix. dtype=torch.float64 runs the network and the
    loss in double precision (the sampler schedule stays float32, as the seed computes it):
    make_fixture.py uses that to check a new fixture is not fragile."""
    got = {}
    steps = int(meta["sample_steps"])
    sampler = meta.get("sampler", "difflm")
    m = build(tensors, meta, dtype)
    f = lambda name: torch.from_numpy(tensors[name]).to(dtype)
    x_T, eps = f("input.x_T"), f("input.eps")
    x, logits, ids = m.sample(x_T, eps, steps, sampler)
    got["sample_x"], got["sample_logits"], got["sample_ids"] = x.numpy(), logits.numpy(), ids.numpy()

    if "input.infill_ids" in tensors:
        x, logits, ids = m.infill(torch.from_numpy(tensors["input.infill_ids"]),
                                  torch.from_numpy(tensors["input.infill_known"]).bool(),
                                  torch.from_numpy(tensors["input.infill_lengths"]),
                                  x_T, eps, steps, sampler)
        got["infill_x"], got["infill_logits"], got["infill_ids"] = (
            x.numpy(), logits.numpy(), ids.numpy())

    m.train()  # dropout is 0: train() only matters for the layer-drop path, which is off
    out = m.loss(torch.from_numpy(tensors["input.ids"]), torch.from_numpy(tensors["input.lengths"]),
                 torch.from_numpy(tensors["input.cond_mask"]).bool(),
                 f("input.t"), f("input.z"),
                 selfcond=(meta["selfcond"] == "1") != OPTIONS["flip_coin"])
    for k in SCALARS:
        got[k] = out[k].detach().reshape(1).numpy()
    got["train_logits"] = out["logits"].detach().numpy()   # not an expectation: for margins
    out["loss"].backward()
    for name, p in m.named_parameters():
        got["grad." + name] = p.grad.detach().clone().numpy()
    norm = torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0 if OPTIONS["clip"] else 1e30)
    got["grad_norm"] = norm.detach().reshape(1).numpy()
    if OPTIONS["adam_l2"]:  # coupled L2 decay (torch.optim.Adam) instead of AdamW
        opt = torch.optim.Adam(m.parameters(), lr=float(meta["lr"]), betas=(0.9, 0.99),
                               eps=1e-8, weight_decay=1e-4)
    else:
        opt = M.make_optimizer(m, lr=float(meta["lr"]))
    opt.step()
    for name, p in m.named_parameters():
        got["step1." + name] = p.detach().clone().numpy()
    return got


def _rel_scalar(g, w):
    g, w = np.float64(g.reshape(-1)[0]), np.float64(w.reshape(-1)[0])
    err = abs(g - w)
    return err, 1e-5 * abs(w)


def compare(want, got, lr):
    """want, got: dicts name -> numpy (without 'expect.'). Returns a list of rows
    (name, worst error, its allowance, ok, note) in a stable order."""
    rows = []
    ref_grads = {k[5:]: v for k, v in want.items() if k.startswith("grad.")}
    for name in want:
        w = want[name]
        if name not in got:
            rows.append((name, float("nan"), 0.0, False, "not computed"))
            continue
        g = got[name]
        if g.shape != w.shape:
            rows.append((name, float("nan"), 0.0, False, f"shape {g.shape} vs {w.shape}"))
            continue
        w64, g64 = w.astype(np.float64), g.astype(np.float64)
        if name in SCALARS or name == "grad_norm":
            err, allow = _rel_scalar(g64, w64)
            rows.append((name, err, allow, err <= allow, f"got {g64.item():.9g} want {w64.item():.9g}"))
        elif name.endswith("_ids"):
            bad = int((g != w).sum())
            rows.append((name, float(bad), 0.0, bad == 0, f"{bad} of {w.size} differ"))
        elif name.startswith("grad."):
            scale = np.abs(w64).max()
            d = np.abs(g64 - w64)
            rows.append((name, d.max() / max(scale, 1e-30), 1e-4, d.max() <= 1e-4 * scale,
                         f"max|d| {d.max():.3g} of max|want| {scale:.3g}"))
        elif name.startswith("step1."):
            ref = ref_grads.get(name[6:])
            d = np.abs(g64 - w64)
            if ref is not None:
                keep = np.abs(ref) >= 1e-5 * np.abs(ref).max()
                d = np.where(keep, d, 0.0)
            rows.append((name, d.max() / lr, 1e-2, d.max() <= 1e-2 * lr,
                         f"max|d| {d.max():.3g} (lr {lr:g})"))
        else:  # sample / infill x and logits
            scale = np.abs(w64).max()
            d = np.abs(g64 - w64)
            allow = 1e-3 * np.abs(w64) + 1e-5 * scale
            worst = (d / allow).max()
            rel = (d / np.maximum(np.abs(w64), 1e-30)).max()
            rows.append((name, worst, 1.0, bool(worst <= 1.0),
                         f"max|d| {d.max():.3g}, max|d|/|want| {rel:.3g}, max|want| {scale:.3g}"))
    return rows


def report(rows, verbose=True):
    """Prints one line per expectation (failures always); returns the number of failures."""
    fails = 0
    for name, err, allow, ok, note in rows:
        if not ok:
            fails += 1
        if verbose or not ok:
            print(f"{'ok  ' if ok else 'FAIL'} {name:60s} worst {err:.3e} (allow {allow:.1e})  {note}")
    return fails


def split_fixture(tensors):
    """(weights+inputs, expectations without the 'expect.' prefix)."""
    want = {k[len("expect."):]: v for k, v in tensors.items() if k.startswith("expect.")}
    rest = {k: v for k, v in tensors.items() if not k.startswith("expect.")}
    return rest, want
