/* test_model.c: the whole network and loss against finite differences (with
 * and without dropout and layer-drop, FiLM as gamma and as 1+gamma), the
 * backward with recomputation against the one that keeps every layer (bit
 * for bit), and the samplers' contracts: known tokens come back unchanged, determinism by seed,
 * stopping from the callback. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diffusion.h"
#include "model.h"

enum { B = 3, L = 5 };

typedef struct {
    Model m;
    Workspace ws;
    LossInput in;
    int32_t ids[B * L];
    uint8_t len_mask[B * L], cond[B * L];
    float t[B], *z, *target;
    uint64_t dropout_seed;
} Ctx;

static double loss_of(Ctx *c) {
    Rng r;
    rng_seed(&r, c->dropout_seed);
    LossStats st;
    diffusion_loss(&c->m, NULL, &c->ws, &c->in, 1.0f, &r, &st);
    return st.loss;
}

static void setup(Ctx *c, Config cfg, uint64_t seed) {
    Err e;
    memset(c, 0, sizeof *c);
    if (model_alloc(&c->m, &cfg, &e) || workspace_alloc(&c->ws, &cfg, B, L, 1, &e)) {
        check_ok(0, "setup: %s", e.msg);
        exit(1);
    }
    Rng r;
    rng_seed(&r, seed);
    /* Larger than the seed's init so every path carries a visible gradient. */
    rng_fill_normal(&r, c->m.w, (long)c->m.table.total, 0.1f);
    /* Peaked attention, so the query and key gradients stand above float noise. */
    for (int i = 0; i < c->m.table.count; i++)
        if (strstr(c->m.table.info[i].name, "w_q") || strstr(c->m.table.info[i].name, "w_k"))
            rng_fill_normal(&r, c->m.w + c->m.table.info[i].offset, (long)c->m.table.info[i].count, 0.5f);
    int lengths[B] = {5, 3, 4};
    for (int i = 0; i < B * L; i++) {
        c->ids[i] = (int32_t)rng_below(&r, cfg.V);
        c->len_mask[i] = (i % L) < lengths[i / L];
        c->cond[i] = rng_uniform(&r) < 0.3;
    }
    c->cond[0] = 0; /* at least one target */
    for (int b = 0; b < B; b++) c->t[b] = 0.1f + 0.8f * (float)rng_uniform(&r);
    c->z = malloc(sizeof(float) * B * L * cfg.E);
    rng_fill_normal(&r, c->z, (long)B * L * cfg.E, 1.0f);
    c->in = (LossInput){.B = B, .L = L, .ids = c->ids, .len_mask = c->len_mask, .cond = c->cond, .t = c->t, .z = c->z};
    c->dropout_seed = seed + 1;
    /* The MSE target is a constant in the spec: freeze it so finite
     * differences of the embedding and its norm see the same function. */
    c->target = malloc(sizeof(float) * B * L * cfg.E);
    loss_of(c);
    memcpy(c->target, c->ws.x0, sizeof(float) * B * L * cfg.E);
    c->in.target = c->target;
}

static void teardown(Ctx *c) {
    free(c->z);
    free(c->target);
    workspace_free(&c->ws);
    model_free(&c->m);
}

static void gradient_check(const char *label, Config cfg) {
    Ctx c;
    setup(&c, cfg, 7);
    float *gblock = calloc(c.m.table.total, sizeof(float));
    Params g;
    params_bind(&g, &c.m.table, gblock);
    Rng r;
    rng_seed(&r, c.dropout_seed);
    LossStats st;
    diffusion_loss(&c.m, &g, &c.ws, &c.in, 1.0f, &r, &st);
    double again = loss_of(&c);
    check_ok(fabs(again - st.loss) < 1e-6 * fabs(st.loss) + 1e-7, "%s: loss is deterministic for a dropout seed (%g)",
             label, st.loss);
    Rng pick;
    rng_seed(&pick, 99);
    int bad = 0;
    for (int ti = 0; ti < c.m.table.count; ti++) {
        const ParamInfo *pi = &c.m.table.info[ti];
        float *w = c.m.w + pi->offset, *ga = gblock + pi->offset;
        double scale = 1e-8, worst = 0;
        for (size_t i = 0; i < pi->count; i++) scale = fmax(scale, fabs(ga[i]));
        int samples = pi->count < 12 ? (int)pi->count : 12;
        for (int s = 0; s < samples; s++) {
            size_t i = pi->count < 12 ? (size_t)s : (size_t)rng_below(&pick, pi->count);
            float keep = w[i], h = 5e-3f;
            w[i] = keep + h;
            double fp = loss_of(&c);
            w[i] = keep - h;
            double fm = loss_of(&c);
            w[i] = keep;
            worst = fmax(worst, fabs((fp - fm) / (2 * h) - ga[i]) / scale);
        }
        if (getenv("FD_VERBOSE")) printf("# %s scale %.3g worst %.3g\n", pi->name, scale, worst);
        if (worst > 1e-2) {
            bad++;
            check_ok(0, "%s: gradient of %s off by %.2e of its largest element", label, pi->name, worst);
        }
    }
    check_ok(!bad, "%s: every parameter's gradient matches finite differences", label);
    params_unbind(&g);
    free(gblock);
    teardown(&c);
}

/* Loss and every gradient with WS_TRAIN_RECOMPUTE equal WS_TRAIN's exactly:
 * recomputation redoes the same operations on the same inputs. Several
 * dropout seeds, so layer-drop skips the last layer in some of them. */
static void recompute_matches(const char *label, Config cfg) {
    Model m;
    Workspace keep, redo;
    Err e;
    if (model_alloc(&m, &cfg, &e) || workspace_alloc(&keep, &cfg, B, L, WS_TRAIN, &e) ||
        workspace_alloc(&redo, &cfg, B, L, WS_TRAIN_RECOMPUTE, &e)) {
        check_ok(0, "%s: setup: %s", label, e.msg);
        return;
    }
    check_ok(workspace_bytes(&cfg, 8, 16, WS_TRAIN_RECOMPUTE) < workspace_bytes(&cfg, 8, 16, WS_TRAIN),
             "%s: recomputation needs a smaller workspace (%zu < %zu bytes)", label,
             workspace_bytes(&cfg, 8, 16, WS_TRAIN_RECOMPUTE), workspace_bytes(&cfg, 8, 16, WS_TRAIN));
    Rng r;
    rng_seed(&r, 5);
    rng_fill_normal(&r, m.w, (long)m.table.total, 0.1f);
    size_t P = m.table.total;
    float *ga = calloc(P, sizeof(float)), *gb = calloc(P, sizeof(float)), *z = malloc(sizeof(float) * B * L * cfg.E);
    Params pa, pb;
    params_bind(&pa, &m.table, ga);
    params_bind(&pb, &m.table, gb);
    int32_t ids[B * L];
    uint8_t len_mask[B * L], cond[B * L];
    float t[B] = {0.2f, 0.6f, 0.95f};
    for (int i = 0; i < B * L; i++)
        ids[i] = (int32_t)rng_below(&r, cfg.V), len_mask[i] = (i % L) < 4 + (i / L) % 2, cond[i] = i % 3 == 1;
    rng_fill_normal(&r, z, (long)B * L * cfg.E, 1.0f);
    int same = 1, skipped_last = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        LossInput in = {.B = B, .L = L, .ids = ids, .len_mask = len_mask, .cond = cond, .t = t, .z = z,
                        .selfcond = (int)(seed % 2)};
        LossStats sa, sb;
        memset(ga, 0, sizeof(float) * P);
        memset(gb, 0, sizeof(float) * P);
        Rng ra, rb;
        rng_seed(&ra, seed);
        rng_seed(&rb, seed);
        diffusion_loss(&m, &pa, &keep, &in, 1.0f, &ra, &sa);
        diffusion_loss(&m, &pb, &redo, &in, 1.0f, &rb, &sb);
        skipped_last |= redo.skip[cfg.NL - 1];
        if (sa.loss != sb.loss || memcmp(ga, gb, sizeof(float) * P)) same = 0;
    }
    check_ok(same, "%s: recomputation gives the same loss and gradients, bit for bit, over 6 seeds", label);
    if (cfg.layerdrop > 0) check_ok(skipped_last, "%s: some seed skipped the last layer", label);
    params_unbind(&pa);
    params_unbind(&pb);
    free(ga), free(gb), free(z);
    workspace_free(&keep);
    workspace_free(&redo);
    model_free(&m);
}

static Config small_config(void) {
    Config cfg = config_default(23);
    cfg.E = 8;
    cfg.D = 32;
    cfg.NL = 2;
    cfg.H = 4;
    cfg.R = 4; /* smaller than the head dim 8 */
    cfg.F = 64;
    cfg.dropout = 0;
    return cfg;
}

typedef struct {
    int calls, stop_at;
} CbCtx;
static int count_cb(void *ctx, int step, int total, float t, const int32_t *ids, const float *conf) {
    (void)step, (void)total, (void)t, (void)ids, (void)conf;
    CbCtx *c = ctx;
    return ++c->calls == c->stop_at;
}

static void sampler_contracts(void) {
    Config cfg = small_config();
    Model m;
    Workspace ws;
    Err e;
    model_alloc(&m, &cfg, &e);
    params_init(&m.table, m.w, 5);
    workspace_alloc(&ws, &cfg, B, L, 0, &e);
    int32_t ids[B * L], out[B * L], out2[B * L];
    uint8_t known[B * L];
    int lengths[B] = {5, 4, 5};
    for (int i = 0; i < B * L; i++) ids[i] = (int32_t)(i * 7 % cfg.V), known[i] = 1;
    for (SamplerKind k = 0; k < SAMPLER_COUNT; k++) {
        if (!sampler_fits(k, &cfg)) continue; /* the masked family's: test_masked.c */
        SampleRequest rq = {.B = B, .L = L, .ids = ids, .known = known, .lengths = lengths, .kind = k, .steps = 10, .clamp = 0, .seed = 42, .x_T = NULL, .eps = NULL};
        CbCtx cb = {0, -1};
        int rc = diffusion_sample(&m, &ws, &rq, count_cb, &cb, out, &e);
        check_ok(rc == 0 && !memcmp(out, ids, sizeof ids), "%s: a fully known sequence comes back unchanged",
                 sampler_name(k));
        check_ok(cb.calls == 11, "%s: the callback sees 10 steps and the final pass (%d)", sampler_name(k), cb.calls);
    }
    for (int i = 0; i < B * L; i++) known[i] = i % 3 == 0;
    SampleRequest rq = {.B = B, .L = L, .ids = ids, .known = known, .lengths = lengths, .kind = SAMPLER_DIFFLM, .steps = 8, .clamp = 1, .seed = 42, .x_T = NULL, .eps = NULL};
    diffusion_sample(&m, &ws, &rq, NULL, NULL, out, &e);
    diffusion_sample(&m, &ws, &rq, NULL, NULL, out2, &e);
    int kept = 1;
    for (int i = 0; i < B * L; i++) kept &= !known[i] || out[i] == ids[i];
    check_ok(kept, "infilling keeps the known tokens");
    check_ok(!memcmp(out, out2, sizeof out), "the same seed gives the same infill (with clamping)");
    CbCtx cb = {0, 3};
    int rc = diffusion_sample(&m, &ws, &rq, count_cb, &cb, out, &e);
    check_ok(rc == 1 && cb.calls == 3, "the callback stops a run at once");
    /* unmask: after step s of S exactly ceil(open * s / S) open positions of each sequence are
     * fixed (known), a fixed token never changes again, and the given ones are kept */
    {
        SampleRequest ru = rq;
        ru.kind = SAMPLER_UNMASK, ru.steps = 3, ru.clamp = 0;
        Sampler sm;
        check_ok(!sampler_begin(&sm, &m, &ws, &ru, &e), "unmask: begins");
        int counts_ok = 1, stable = 1, steps = 0;
        int32_t seen[B * L];
        uint8_t was[B * L];
        memset(was, 0, sizeof was);
        while (sampler_step(&sm)) {
            steps++;
            for (int b = 0; b < B; b++) {
                int open0 = 0, fixed = 0;
                for (int l = 0; l < lengths[b]; l++) {
                    int i = b * L + l;
                    open0 += !known[i];
                    fixed += !known[i] && sm.known[i];
                }
                counts_ok &= fixed == (open0 * steps + ru.steps - 1) / ru.steps;
            }
            for (int i = 0; i < B * L; i++) {
                if (was[i]) stable &= sm.ids[i] == seen[i];
                if (sm.known[i] && !was[i]) was[i] = 1, seen[i] = sm.ids[i];
            }
        }
        int kept_u = 1;
        for (int i = 0; i < B * L; i++) kept_u &= !known[i] || sm.ids[i] == ids[i];
        check_ok(steps == 3 && counts_ok, "unmask: step s of 3 fixes ceil(open s / 3) of each sequence (%d steps)",
                 steps);
        check_ok(stable, "unmask: a fixed token is never changed by a later step");
        check_ok(kept_u, "unmask: the known tokens are kept");
        sampler_end(&sm);
    }
    ids[1] = cfg.V; /* out of range and known */
    known[1] = 1;
    check_ok(diffusion_sample(&m, &ws, &rq, NULL, NULL, out, &e) < 0 && strstr(e.msg, "outside the vocabulary"),
             "a known token outside the vocabulary is an error: %s", e.msg);
    workspace_free(&ws);
    model_free(&m);
}

/* seq_weight multiplies each sequence's share of the gradient and leaves the
 * statistics alone: weights of 2 double every gradient, weights of 0 on all
 * but one sequence leave that sequence's gradient. */
static void seq_weight_scales(void) {
    Config cfg = small_config();
    Ctx c;
    setup(&c, cfg, 11);
    size_t P = c.m.table.total;
    float *g1 = calloc(P, sizeof(float)), *g2 = calloc(P, sizeof(float));
    Params p1, p2;
    params_bind(&p1, &c.m.table, g1);
    params_bind(&p2, &c.m.table, g2);
    LossStats s1, s2;
    diffusion_loss(&c.m, &p1, &c.ws, &c.in, 1.0f, NULL, &s1);
    float twos[B] = {2, 2, 2};
    c.in.seq_weight = twos;
    diffusion_loss(&c.m, &p2, &c.ws, &c.in, 1.0f, NULL, &s2);
    double worst = 0, scale = 1e-12;
    for (size_t i = 0; i < P; i++) worst = fmax(worst, fabs(g2[i] - 2 * g1[i])), scale = fmax(scale, fabs(g1[i]));
    check_ok(worst <= 1e-5 * scale, "weights of 2 double the gradient (worst %.2g of %.2g)", worst, scale);
    check_ok(s1.loss == s2.loss, "weights leave the reported loss alone (%g)", s1.loss);
    /* only sequence 1 weighted: the gradient of the run where sequence 1 alone has targets, times n1/n */
    float only1[B] = {0, 1, 0};
    c.in.seq_weight = only1;
    memset(g2, 0, sizeof(float) * P);
    diffusion_loss(&c.m, &p2, &c.ws, &c.in, 1.0f, NULL, &s2);
    uint8_t keep[B * L];
    memcpy(keep, c.len_mask, sizeof keep);
    long n = s1.targets, n1 = 0;
    for (int i = 0; i < B * L; i++) {
        if (i / L != 1) c.len_mask[i] = 0;
        n1 += c.len_mask[i] && !c.cond[i];
    }
    c.in.seq_weight = NULL;
    memset(g1, 0, sizeof(float) * P);
    diffusion_loss(&c.m, &p1, &c.ws, &c.in, (float)n1 / (float)n, NULL, &s1);
    memcpy(c.len_mask, keep, sizeof keep);
    worst = 0, scale = 1e-12;
    for (size_t i = 0; i < P; i++) worst = fmax(worst, fabs(g2[i] - g1[i])), scale = fmax(scale, fabs(g1[i]));
    check_ok(n1 > 0 && worst <= 1e-4 * scale, "a weight of 0 removes a sequence from the gradient (worst %.2g of %.2g)",
             worst, scale);
    params_unbind(&p1);
    params_unbind(&p2);
    free(g1), free(g2);
    teardown(&c);
}

int main(void) {
    Config cfg = small_config();
    gradient_check("seed network", cfg);
    cfg.dropout = 0.3f;
    cfg.layerdrop = 0.3f;
    gradient_check("dropout + layer-drop", cfg);
    cfg = small_config();
    cfg.film_one_plus = 1;
    cfg.R = 8;
    gradient_check("FiLM 1+gamma, full rotary", cfg);
    cfg = small_config(); /* F < 3D: d_qkv is larger than gl */
    recompute_matches("recompute", cfg);
    cfg.NL = 3, cfg.F = 4 * cfg.D, cfg.dropout = 0.2f, cfg.layerdrop = 0.4f, cfg.film_one_plus = 1;
    recompute_matches("recompute, dropout + layer-drop", cfg);
    seq_weight_scales();
    sampler_contracts();
    return check_done();
}
