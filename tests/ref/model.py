"""model.py: the PyTorch reference port of docs/model-spec.md (the yardstick for the C engine).

What it is: the network (embedding + LayerNorm, FiLM transformer estimator with rotary attention,
learned-sinusoid time MLP, lm_head), the diffusion (schedule, noising, the training loss with the
self-conditioning coin passed in, the difflm/ddim/ddpm samplers, infilling) and the optimiser
(AdamW + global-norm clipping). Parameters are registered under the seed's state_dict names.

What it is not: a trainer (no data pipeline, no LR schedule) or a fast implementation. Every random
draw (t, z, eps, the self-conditioning coin, layer-drop) is an explicit argument, so a fixture can
replay it exactly. Dimension legend: B batch, L tokens, E embedding, D model, V vocab, NL layers,
H heads, hd = D/H head dim, R rotary dims per head, F feed-forward hidden.

Details the spec leaves open are settled here the way the seed's fixture proved them
(tests/ref/NOTES.md); the few switches in VARIANT exist only so check_shared.py --explore can show
that the alternatives fail.
"""
import math
import random
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

LN_EPS = 1e-5
MASK_FILL = -1e9
T_CLAMP = 1e-5        # training t is clamped to [T_CLAMP, 1 - T_CLAMP]

# Alternatives for the details the spec does not pin down. The defaults are what the shared
# fixture proved; check_shared.py --explore flips each one to show the fixture rejects it.
VARIANT = {
    "time_order": "sin_cos",      # or "cos_sin": order of the 128 time features
    "x_cond": "x0",               # or "x_t": what goes in x_cond at conditional positions
    "mse_target_grad": False,     # True: gradient also flows through the MSE target x0
    "rotary": "adjacent",         # or "half": rotate (j, j + R/2) pairs instead of (2j, 2j+1)
    "rotary_base": "R",           # or "hd": frequencies 10000^(-2j/hd) instead of 10000^(-2j/R)
    "key_mask_only": False,       # True: mask keys only (len_mask[b,j]) instead of the pair mask
    "time_f64": False,            # True: sampler schedule arithmetic in float64
    "gelu": "none",               # or "tanh": GELU approximation instead of the exact erf form
    "film_one_plus": False,       # True: (1 + gamma) * LN(x) + beta
    "sc_source": "interp",        # or "x_est": self-conditioning input is x_est, not interp(latent)
    "sc_zero_cond": True,         # False: training x_sc not zeroed at conditional positions
    "project_len_zero": False,    # True: projected rows past the length are zeroed
    "final_sc_zero": False,       # True: the final t=0 sampling pass gets x_sc = 0
}


@dataclass
class Config:
    V: int = 8000
    E: int = 64
    D: int = 512
    NL: int = 8
    H: int = 8
    R: int = 32           # rotary dims per head, even, <= D/H
    F: int = 0            # feed-forward hidden; 0 -> 4*D
    TF: int = 64          # learned time frequencies (2*TF time features); the seed: 64
    TH: int = 128         # time MLP hidden; the seed: 128
    dropout: float = 0.0
    layerdrop: float = 0.0

    def __post_init__(self):
        if self.F == 0:
            self.F = 4 * self.D
        assert self.D % self.H == 0, "D must divide into H heads"
        assert self.R % 2 == 0 and self.R <= self.D // self.H, "R must be even and <= D/H"


# ---------------------------------------------------------------------------------------------
# Network


def rotary_tables(L, R, hd, device=None):
    """cos, sin of the rotary angles p * f_j, each [L, R/2]; f_j = 10000^(-2j/R), float32."""
    j = torch.arange(0, R, 2, device=device, dtype=torch.float32)
    base = R if VARIANT["rotary_base"] == "R" else hd
    freqs = 1.0 / (10000.0 ** (j / base))                        # [R/2]
    pos = torch.arange(L, device=device, dtype=torch.float32)    # [L]
    ang = pos[:, None] * freqs[None, :]                          # [L, R/2]
    return ang.cos(), ang.sin()


def apply_rotary(x, cos, sin, R):
    """x [B, H, L, hd]: rotate the first R features of each head; the rest pass through."""
    rot, rest = x[..., :R], x[..., R:]
    if VARIANT["rotary"] == "adjacent":
        u, v = rot[..., 0::2], rot[..., 1::2]                    # pairs (2j, 2j+1)
        ru = u * cos - v * sin
        rv = v * cos + u * sin
        rot = torch.stack((ru, rv), dim=-1).flatten(-2)
    else:
        u, v = rot[..., : R // 2], rot[..., R // 2:]             # pairs (j, j + R/2)
        rot = torch.cat((u * cos - v * sin, v * cos + u * sin), dim=-1)
    return torch.cat((rot, rest), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg.D
        self.H, self.hd, self.R = cfg.H, D // cfg.H, cfg.R
        self.w_q = nn.Linear(D, D, bias=False)
        self.w_k = nn.Linear(D, D, bias=False)
        self.w_v = nn.Linear(D, D, bias=False)
        self.w_o = nn.Linear(D, D)

    def forward(self, a, pair_mask):
        """a [B, L, D]; pair_mask [B, 1, L, L] bool (True = attend) or None."""
        B, L, D = a.shape
        split = lambda y: y.view(B, L, self.H, self.hd).transpose(1, 2)   # [B, H, L, hd]
        q, k, v = split(self.w_q(a)), split(self.w_k(a)), split(self.w_v(a))
        cos, sin = rotary_tables(L, self.R, self.hd, a.device)
        q, k = apply_rotary(q, cos, sin, self.R), apply_rotary(k, cos, sin, self.R)
        score = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)             # [B, H, L, L]
        if pair_mask is not None:
            score = score.masked_fill(~pair_mask, MASK_FILL)
        out = score.softmax(dim=-1) @ v                                    # [B, H, L, hd]
        return self.w_o(out.transpose(1, 2).reshape(B, L, D))


class EncoderLayer(nn.Module):
    """Pre-norm FiLM layer: x += MHA(gamma1*LN(x) + beta1); x += FFN(gamma2*LN(x) + beta2)."""

    def __init__(self, cfg):
        super().__init__()
        self.attention = Attention(cfg)
        self.ffn = nn.Sequential(nn.Linear(cfg.D, cfg.F), nn.GELU(VARIANT["gelu"]),
                                 nn.Linear(cfg.F, cfg.D))
        self.dropout1 = nn.Dropout(cfg.dropout)
        self.dropout2 = nn.Dropout(cfg.dropout)

    def forward(self, x, pair_mask, gamma1, gamma2, beta1, beta2):
        D = x.shape[-1]
        if VARIANT["film_one_plus"]:
            gamma1, gamma2 = 1 + gamma1, 1 + gamma2
        a = gamma1 * F.layer_norm(x, (D,), eps=LN_EPS) + beta1
        x = x + self.dropout1(self.attention(a, pair_mask))
        c = gamma2 * F.layer_norm(x, (D,), eps=LN_EPS) + beta2
        return x + self.dropout2(self.ffn(c))


class LearnedSinusoid(nn.Module):
    """t [B] -> [sin(2 pi t w), cos(2 pi t w)] [B, 2*TF]; w [TF] is trained."""

    def __init__(self, n_freqs):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(n_freqs))

    def forward(self, t):
        f = t[:, None] * self.weights[None, :] * 2 * math.pi
        if VARIANT["time_order"] == "sin_cos":
            return torch.cat((f.sin(), f.cos()), dim=-1)
        return torch.cat((f.cos(), f.sin()), dim=-1)


class Estimator(nn.Module):
    """[x_noised, x_cond, x_selfcond] [B, L, 3E], t [B] -> (x_est [B, L, E], latent [B, L, D])."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.time_mlp = nn.Sequential(
            LearnedSinusoid(cfg.TF),                        # .0.weights
            nn.Linear(2 * cfg.TF, cfg.TH),                  # .1
            nn.GELU(VARIANT["gelu"]),                       # .2
            nn.Dropout(cfg.dropout),                        # .3
            nn.Linear(cfg.TH, cfg.NL * 4 * cfg.D),          # .4
            nn.GELU(VARIANT["gelu"]),                       # .5
        )
        self.project = nn.Sequential(nn.Linear(3 * cfg.E, cfg.D), nn.Dropout(cfg.dropout))
        self.encoder_layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.NL))
        self.out = nn.Linear(cfg.D, cfg.E)

    def forward(self, x, t, len_mask=None, layer_keep=None):
        """len_mask [B, L] bool or None (no masking). layer_keep: list of NL bools, or None to
        draw layer-drop from `random` in training (all layers run in eval)."""
        cfg = self.cfg
        g = self.time_mlp(t).view(-1, cfg.NL * 4, 1, cfg.D)  # [B, NL*4, 1, D]
        x = self.project(x)
        pair_mask = None
        if len_mask is not None:
            if VARIANT["project_len_zero"]:
                x = x * len_mask[..., None]
            if VARIANT["key_mask_only"]:
                pair_mask = len_mask[:, None, None, :].expand(-1, 1, len_mask.shape[1], -1)
            else:
                pair_mask = (len_mask[:, :, None] & len_mask[:, None, :])[:, None]
        for i, layer in enumerate(self.encoder_layers):
            if layer_keep is not None:
                if not layer_keep[i]:
                    continue
            elif self.training and cfg.layerdrop > 0 and random.random() < cfg.layerdrop:
                continue
            x = layer(x, pair_mask, g[:, 4 * i], g[:, 4 * i + 1], g[:, 4 * i + 2], g[:, 4 * i + 3])
        return self.out(x), x


class Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embedding = nn.Embedding(cfg.V, cfg.E)
        self.norm = nn.LayerNorm(cfg.E, eps=LN_EPS)
        self.estimator = Estimator(cfg)
        self.dropout = nn.Dropout(cfg.dropout)
        self.lm_head = nn.Linear(cfg.D, cfg.V)
        self.reset_parameters()

    def reset_parameters(self):
        """The spec's init: N(0, 0.001) embedding, N(0, 0.02) linear weights, zero biases,
        LayerNorm 1/0, N(0, 1) time frequencies."""
        nn.init.normal_(self.embedding.weight, std=0.001)
        nn.init.ones_(self.norm.weight)
        nn.init.zeros_(self.norm.bias)
        nn.init.normal_(self.estimator.time_mlp[0].weights, std=1.0)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    # -- pieces -------------------------------------------------------------------------------

    def embed(self, ids):
        """ids [B, L] -> LN_affine(embedding[ids]) [B, L, E]."""
        return self.norm(self.embedding(ids))

    def logits(self, latent):
        return self.lm_head(self.dropout(latent))

    def interp(self, latent, temperature=1.0):
        """softmax(logits / T) @ LN_affine(embedding.weight): [B, L, D] -> [B, L, E]."""
        w = (self.logits(latent) / temperature).softmax(dim=-1)
        return w @ self.norm(self.embedding.weight)

    # -- training loss --------------------------------------------------------------------------

    def loss(self, ids, lengths, cond_mask, t, z, selfcond, layer_keep=None):
        """One batch of the training loss with every draw given.
        ids [B, L] int64, lengths [B] int64, cond_mask [B, L] bool, t [B] float (already
        clamped), z [B, L, E], selfcond: the coin of step 3 (bool).
        Returns dict(loss, loss_mse, loss_ce, accuracy) of 0-d tensors, and logits [B, L, V]."""
        B, L = ids.shape
        x0 = self.embed(ids)                                           # [B, L, E]
        len_mask = torch.arange(L, device=ids.device)[None, :] < lengths[:, None]
        cm = cond_mask[..., None]
        x_t = q_sample(x0, t, z)
        x_noised = x_t.masked_fill(cm, 0.0)
        x_cond = (x0 if VARIANT["x_cond"] == "x0" else x_t).masked_fill(~cm, 0.0)
        x_sc = torch.zeros_like(x0)
        if selfcond:
            with torch.no_grad():
                x_est, latent = self.estimator(torch.cat((x_noised, x_cond, x_sc), -1), t,
                                               len_mask, layer_keep)
                x_sc = self.interp(latent) if VARIANT["sc_source"] == "interp" else x_est
                if VARIANT["sc_zero_cond"]:
                    x_sc = x_sc.masked_fill(cm, 0.0)
        x_est, latent = self.estimator(torch.cat((x_noised, x_cond, x_sc), -1), t, len_mask,
                                       layer_keep)
        diff = len_mask & ~cond_mask                                   # [B, L]
        n = diff.sum()
        target = x0 if VARIANT["mse_target_grad"] else x0.detach()
        mse = ((x_est - target) ** 2).mean(-1)[diff].sum() / n
        logits = self.logits(latent)
        ce = F.cross_entropy(logits[diff], ids[diff], reduction="sum") / n
        acc = (logits.argmax(-1)[diff] == ids[diff]).float().sum() / n
        return dict(loss=mse + ce, loss_mse=mse, loss_ce=ce, accuracy=acc, logits=logits)

    # -- sampling -------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, x_T, eps, steps, sampler="difflm"):
        """Unconditional reverse diffusion from x_T [B, L, E]; eps [S, B, L, E] are the per-step
        draws (difflm, ddpm; ddim uses none). Returns (x [B,L,E], logits [B,L,V], ids [B,L])."""
        B = x_T.shape[0]
        x, x_sc = x_T, torch.zeros_like(x_T)
        zero = torch.zeros_like(x_T)
        for s in range(steps):
            t_now, t_next = sampler_times(s, steps, B, x_T.device)
            x_est, latent = self.estimator(torch.cat((x, zero, x_sc), -1), t_now.float())
            x_sc = self.interp(latent) if VARIANT["sc_source"] == "interp" else x_est
            x = reverse_step(sampler, x, x_sc, t_now, t_next, eps[s])
        if VARIANT["final_sc_zero"]:
            x_sc = zero
        _, latent = self.estimator(torch.cat((x, zero, x_sc), -1), torch.zeros(B, device=x.device))
        logits = self.logits(latent)
        return x, logits, logits.argmax(-1)

    @torch.no_grad()
    def infill(self, ids, known, lengths, x_T, eps, steps, sampler="difflm"):
        """Conditional sampling, the training convention: known tokens enter as x_cond = x0(ids)
        at their positions; x and x_sc are zero there at every step (x_T included); the length
        mask covers every estimator pass; known tokens are copied into the output ids.
        ids [B, L] int64 (any value where unknown), known [B, L] bool, lengths [B] int64.
        Returns (x, logits, ids) like sample()."""
        B, L = ids.shape
        len_mask = torch.arange(L, device=ids.device)[None, :] < lengths[:, None]
        km = known[..., None]
        x_cond = self.embed(ids).masked_fill(~km, 0.0)
        x = x_T.masked_fill(km, 0.0)
        x_sc = torch.zeros_like(x_T)
        for s in range(steps):
            t_now, t_next = sampler_times(s, steps, B, x_T.device)
            _, latent = self.estimator(torch.cat((x, x_cond, x_sc), -1), t_now.float(), len_mask)
            x_sc = self.interp(latent).masked_fill(km, 0.0)
            x = reverse_step(sampler, x, x_sc, t_now, t_next, eps[s]).masked_fill(km, 0.0)
        _, latent = self.estimator(torch.cat((x, x_cond, x_sc), -1),
                                   torch.zeros(B, device=x.device), len_mask)
        logits = self.logits(latent)
        out = torch.where(known, ids, logits.argmax(-1))
        return x, logits, out


# ---------------------------------------------------------------------------------------------
# Diffusion


def gamma(t):
    """cos(((t + 0.0002) / 1.00025) * pi/2)^2, in t's dtype."""
    return torch.cos(((t + 0.0002) / 1.00025) * math.pi / 2) ** 2


def q_sample(x0, t, z):
    """x_t = sqrt(gamma) x0 + sqrt(1 - gamma) z; t [B], x0 and z [B, L, E]."""
    g = gamma(t)[:, None, None]
    return torch.sqrt(g) * x0 + torch.sqrt(1 - g) * z


def sampler_times(step, steps, B, device=None):
    """t_now = 1 - step/S, t_next = max(1 - (step+1)/S, 0): computed in Python doubles, then
    stored as float32 [B] (the seed's way; float64 under VARIANT time_f64)."""
    dt = torch.float64 if VARIANT["time_f64"] else torch.float32
    t_now = torch.full((B,), 1 - step / steps, dtype=dt, device=device)
    t_next = torch.full((B,), max(1 - (step + 1) / steps, 0.0), dtype=dt, device=device)
    return t_now, t_next


def reverse_step(sampler, x, x0_est, t_now, t_next, eps):
    """One reverse step from t_now to t_next. x, x0_est, eps [B, L, E]; t_now, t_next [B]."""
    dtype = x.dtype
    g_now = gamma(t_now)[:, None, None]
    g_next = gamma(t_next)[:, None, None]
    if sampler == "difflm":
        y = torch.sqrt(g_next) * x0_est + torch.sqrt(1 - g_next) * eps
    elif sampler == "ddim":
        e = torch.rsqrt(1 - g_now) * (x - torch.sqrt(g_now) * x0_est)
        y = torch.sqrt(g_next) * x0_est + torch.sqrt(1 - g_next) * e
    elif sampler == "ddpm":
        a = g_now / g_next
        e = torch.rsqrt(1 - g_now) * (x - torch.sqrt(g_now) * x0_est)
        y = torch.rsqrt(a) * (x - (1 - a) * torch.rsqrt(1 - g_now) * e) + torch.sqrt(1 - a) * eps
    else:
        raise ValueError(f"unknown sampler {sampler!r} (difflm, ddim, ddpm)")
    return y.to(dtype)


# ---------------------------------------------------------------------------------------------
# Optimiser


def make_optimizer(model, lr=1e-4, weight_decay=1e-4):
    """AdamW on every parameter: betas (0.9, 0.99), eps 1e-8, decoupled weight decay."""
    return torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.99), eps=1e-8,
                             weight_decay=weight_decay)


def train_step(model, opt, batch, selfcond, max_norm=1.0):
    """loss, backward, clip to max_norm, one optimiser step. batch: dict of loss() inputs.
    Returns (loss dict, grad norm before clipping)."""
    opt.zero_grad(set_to_none=True)
    out = model.loss(batch["ids"], batch["lengths"], batch["cond_mask"], batch["t"], batch["z"],
                     selfcond)
    out["loss"].backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    opt.step()
    return out, norm


def draw_t(B, generator=None):
    """t ~ U(0, 1) per sequence, clamped to [1e-5, 1 - 1e-5]."""
    return torch.rand(B, generator=generator).clamp(T_CLAMP, 1 - T_CLAMP)


def draw_cond_mask(n, L, rng):
    """The recipe's conditional mask for a sequence of length n in L slots (random.Random rng):
    span length m ~ U{0..n-1}, start ~ U{0..n-m}; with p 0.5 shuffled within the n positions."""
    m = rng.randint(0, n - 1)
    start = rng.randint(0, n - m)
    mask = [False] * L
    for i in range(start, start + m):
        mask[i] = True
    if rng.random() < 0.5:
        head = mask[:n]
        rng.shuffle(head)
        mask[:n] = head
    return mask


def load_weights(model, tensors):
    """Copy the named parameters present in `tensors` (numpy or torch) into the model; returns
    the list of model names that were missing."""
    sd = model.state_dict()
    missing = []
    for name, p in sd.items():
        if name in tensors:
            v = torch.as_tensor(tensors[name])
            if tuple(v.shape) != tuple(p.shape):
                raise ValueError(f"{name}: shape {tuple(v.shape)}, model wants {tuple(p.shape)}")
            p.copy_(v)
        else:
            missing.append(name)
    return missing


def config_from_meta(meta):
    """Config from a parity fixture's __metadata__ (dropout 0). The optional keys ffn,
    time_freqs, time_hidden default to the seed's 4*D, 64, 128."""
    return Config(V=int(meta["V"]), E=int(meta["E"]), D=int(meta["D"]), NL=int(meta["layers"]),
                  H=int(meta["heads"]), R=int(meta["rotary_dim"]), F=int(meta.get("ffn", 0)),
                  TF=int(meta.get("time_freqs", 64)), TH=int(meta.get("time_hidden", 128)))


def meta_from_config(cfg):
    """The shape part of a fixture's __metadata__, as strings; ffn, time_freqs, time_hidden only
    when they differ from the seed's 4*D, 64, 128."""
    meta = {"V": str(cfg.V), "E": str(cfg.E), "D": str(cfg.D), "layers": str(cfg.NL),
            "heads": str(cfg.H), "rotary_dim": str(cfg.R)}
    for key, value, seed in (("ffn", cfg.F, 4 * cfg.D), ("time_freqs", cfg.TF, 64),
                             ("time_hidden", cfg.TH, 128)):
        if value != seed:
            meta[key] = str(value)
    return meta
