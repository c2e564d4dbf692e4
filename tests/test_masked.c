/* test_masked.c: the masked-diffusion family (src/masked.h): its loss
 * gradient against finite differences, the draws of its training masks, the
 * two samplers' contracts (known tokens kept, a revealed token never changes,
 * the reveal schedule, hidden positions reported with negated confidence,
 * determinism by seed), fusion's hook, and checkpoints that tell the family
 * by metadata and by shape alone. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ckpt.h"
#include "masked.h"
#include "model.h"

enum { B = 3, L = 6 };

static Config small_masked(void) {
    Config cfg = config_default(23);
    cfg.E = 8, cfg.D = 32, cfg.NL = 2, cfg.H = 4, cfg.R = 4, cfg.F = 64, cfg.dropout = 0, cfg.masked = 1;
    return cfg;
}

typedef struct {
    Model m;
    Workspace ws;
    LossInput in;
    int32_t ids[B * L];
    uint8_t len_mask[B * L], visible[B * L];
    float t[B], w[B];
} Ctx;

static double loss_of(Ctx *c, Params *g) {
    LossStats st;
    masked_loss(&c->m, g, &c->ws, &c->in, 1.0f, NULL, &st);
    return st.loss;
}

static void setup(Ctx *c, uint64_t seed) {
    Err e;
    Config cfg = small_masked();
    memset(c, 0, sizeof *c);
    if (model_alloc(&c->m, &cfg, &e) || workspace_alloc(&c->ws, &cfg, B, L, WS_TRAIN, &e)) {
        check_ok(0, "setup: %s", e.msg);
        exit(1);
    }
    Rng r;
    rng_seed(&r, seed);
    rng_fill_normal(&r, c->m.w, (long)c->m.table.total, 0.1f);
    for (int i = 0; i < c->m.table.count; i++)
        if (strstr(c->m.table.info[i].name, "w_q") || strstr(c->m.table.info[i].name, "w_k"))
            rng_fill_normal(&r, c->m.w + c->m.table.info[i].offset, (long)c->m.table.info[i].count, 0.5f);
    int lengths[B] = {6, 4, 5};
    for (int b = 0; b < B; b++) {
        for (int l = 0; l < L; l++) {
            c->ids[b * L + l] = (int32_t)rng_below(&r, (uint64_t)cfg.V);
            c->len_mask[b * L + l] = l < lengths[b];
        }
        int hidden = masked_draw(&r, c->len_mask + b * L, L, 0.5f, b % 2 ? MASKDRAW_SPANS : MASKDRAW_UNIFORM,
                                 c->visible + b * L);
        c->t[b] = (float)hidden / (float)lengths[b];
        c->w[b] = 2.0f;
    }
    c->in = (LossInput){.B = B, .L = L, .ids = c->ids, .len_mask = c->len_mask, .cond = c->visible, .t = c->t};
}

static void teardown(Ctx *c) {
    workspace_free(&c->ws);
    model_free(&c->m);
}

/* Every tensor's gradient, [MASK]'s row included, against central differences of the loss. */
static void gradient_check(void) {
    Ctx c;
    setup(&c, 11);
    float *gblock = calloc(c.m.table.total, sizeof(float));
    Params g;
    params_bind(&g, &c.m.table, gblock);
    loss_of(&c, &g);
    Rng pick;
    rng_seed(&pick, 5);
    int bad = 0;
    for (int ti = 0; ti < c.m.table.count; ti++) {
        const ParamInfo *pi = &c.m.table.info[ti];
        if (!strncmp(pi->name, "estimator.out.", 14)) continue; /* the x_est head: no term of this loss */
        float *w = c.m.w + pi->offset, *ga = gblock + pi->offset;
        double scale = 1e-8, worst = 0;
        for (size_t i = 0; i < pi->count; i++) scale = fmax(scale, fabs(ga[i]));
        int samples = pi->count < 12 ? (int)pi->count : 12;
        for (int s = 0; s < samples; s++) {
            size_t i = pi->count < 12 ? (size_t)s : (size_t)rng_below(&pick, pi->count);
            if (!strcmp(pi->name, "embedding.weight") && s == 0) i = (size_t)c.m.cfg.V * c.m.cfg.E; /* [MASK] */
            float keep = w[i], h = 1e-2f;
            w[i] = keep + h;
            double fp = loss_of(&c, NULL);
            w[i] = keep - h;
            double fm = loss_of(&c, NULL);
            w[i] = keep;
            worst = fmax(worst, fabs((fp - fm) / (2 * h) - ga[i]) / scale);
        }
        if (worst > 1e-2) bad++, check_ok(0, "masked loss: gradient of %s off by %.2e", pi->name, worst);
    }
    check_ok(!bad, "masked loss: every parameter's gradient matches finite differences");
    float mask_norm = 0;
    for (int k = 0; k < c.m.cfg.E; k++) mask_norm += fabsf(g.embedding[(long)c.m.cfg.V * c.m.cfg.E + k]);
    check_ok(mask_norm > 0, "masked loss: the [MASK] row gets a gradient (%g)", mask_norm);
    float *g2 = calloc(c.m.table.total, sizeof(float)); /* weights of 2 on every sequence: twice the gradient */
    Params gp;
    params_bind(&gp, &c.m.table, g2);
    c.in.seq_weight = c.w;
    loss_of(&c, &gp);
    int twice = 1;
    for (size_t i = 0; i < c.m.table.total; i++) twice &= fabsf(g2[i] - 2 * gblock[i]) <= 1e-6f + 1e-5f * fabsf(g2[i]);
    check_ok(twice, "masked loss: sequence weights scale its gradient");
    params_unbind(&gp);
    free(g2);
    params_unbind(&g);
    free(gblock);
    teardown(&c);
}

static void draws(void) {
    uint8_t len_mask[40], vis[40];
    for (int l = 0; l < 40; l++) len_mask[l] = l < 30;
    Rng r;
    rng_seed(&r, 3);
    int ok_count = 1, ok_runs = 1, ok_outside = 1;
    long hidden_uniform = 0;
    for (int trial = 0; trial < 200; trial++) {
        float t = (float)(trial % 10 + 1) / 10;
        int h = masked_draw(&r, len_mask, 40, t, MASKDRAW_SPANS, vis);
        int want = (int)lroundf(t * 30), n = 0, runs = 0;
        for (int l = 0; l < 40; l++) {
            n += len_mask[l] && !vis[l];
            runs += len_mask[l] && !vis[l] && (l == 0 || vis[l - 1]);
            ok_outside &= len_mask[l] || !vis[l];
        }
        ok_count &= h == want && n == want;
        ok_runs &= runs >= 1 && runs <= 2;
        hidden_uniform += masked_draw(&r, len_mask, 40, 0.5f, MASKDRAW_UNIFORM, vis);
    }
    check_ok(ok_count, "spans hide round(t * n) positions");
    check_ok(ok_runs, "spans hide one or two runs");
    check_ok(ok_outside, "positions outside the length are never shown nor hidden");
    check_ok(labs(hidden_uniform - 200 * 15) < 200, "uniform hides about t of the positions (%ld of 3000)",
             hidden_uniform);
    uint8_t one[3] = {1, 0, 0};
    check_ok(masked_draw(&r, one, 3, 1e-6f, MASKDRAW_UNIFORM, vis) == 1 && !vis[0], "at least one is hidden");
}

typedef struct {
    int calls, bad_conf, changed;
    const int *lengths;
    int32_t first_seen[B * L];
    uint8_t revealed[B * L];
    const uint8_t *known;
} Watch;

/* Hidden positions come with negated confidence; a revealed one never changes; known ones stay at 1. */
static int watch_cb(void *ctx, int step, int total, float t, const int32_t *ids, const float *conf) {
    (void)step, (void)total, (void)t;
    Watch *w = ctx;
    w->calls++;
    for (int i = 0; i < B * L; i++) {
        if (i % L >= w->lengths[i / L]) continue; /* past the length: not part of the fill */
        if (w->known[i]) {
            w->bad_conf += conf[i] != 1.0f;
            continue;
        }
        if (conf[i] >= 0) {
            if (!w->revealed[i]) w->revealed[i] = 1, w->first_seen[i] = ids[i];
            else w->changed += ids[i] != w->first_seen[i];
        } else if (w->revealed[i]) {
            w->bad_conf++;
        }
    }
    return 0;
}

static void samplers(void) {
    Config cfg = small_masked();
    Model m;
    Workspace ws;
    Err e;
    model_alloc(&m, &cfg, &e);
    params_init(&m.table, m.w, 5);
    workspace_alloc(&ws, &cfg, B, L, WS_SAMPLE, &e);
    int32_t ids[B * L], out[B * L], out2[B * L];
    uint8_t known[B * L];
    int lengths[B] = {6, 4, 5};
    for (int i = 0; i < B * L; i++) ids[i] = (int32_t)(i * 7 % cfg.V), known[i] = i % 3 == 0;
    SampleRequest rq = {.B = B, .L = L, .ids = ids, .known = known, .lengths = lengths, .kind = SAMPLER_DIFFLM,
                        .steps = 10, .seed = 42};
    check_ok(diffusion_sample(&m, &ws, &rq, NULL, NULL, out, &e) < 0 && strstr(e.msg, "reveal or mdlm"),
             "a continuous sampler is refused: %s", e.msg);
    for (SamplerKind k = SAMPLER_REVEAL; k <= SAMPLER_MDLM; k++) {
        rq.kind = k;
        Watch w = {.known = known, .lengths = lengths};
        int rc = diffusion_sample(&m, &ws, &rq, watch_cb, &w, out, &e);
        diffusion_sample(&m, &ws, &rq, NULL, NULL, out2, &e);
        int kept = 1, all = 1;
        for (int i = 0; i < B * L; i++) {
            kept &= !known[i] || out[i] == ids[i];
            all &= known[i] || (i % L) >= lengths[i / L] || w.revealed[i];
        }
        check_ok(rc == 0 && kept, "%s: known tokens are kept", sampler_name(k));
        check_ok(w.calls == 4, "%s: steps are clamped to the largest gap (4 hidden: %d calls)", sampler_name(k),
                 w.calls);
        check_ok(all && !w.changed && !w.bad_conf, "%s: every hidden position is revealed once and never changes",
                 sampler_name(k));
        check_ok(!memcmp(out, out2, sizeof out), "%s: the same seed gives the same fill", sampler_name(k));
    }
    /* reveal: after step s of S, ceil-spread shares of each gap are shown */
    rq.kind = SAMPLER_REVEAL, rq.steps = 2;
    Sampler s;
    check_ok(!sampler_begin(&s, &m, &ws, &rq, &e) && sampler_passes(&s) == 2, "reveal: 2 passes for 2 steps");
    sampler_step(&s);
    int shown_b0 = 0;
    for (int l = 0; l < L; l++) shown_b0 += s.conf[l] >= 0;
    check_ok(shown_b0 == 2 + 2, "reveal: half of a 4-slot gap after 1 of 2 steps (%d shown)", shown_b0);
    check_ok(!sampler_step(&s) && s.done, "reveal: done after its last step");
    sampler_end(&s);
    workspace_free(&ws);
    model_free(&m);
}

/* A masked checkpoint keeps its family through metadata, and a file without it through the shapes. */
static void checkpoints(void) {
    char dir[] = "/tmp/test_masked.XXXXXX", path[64], bare[64];
    if (!mkdtemp(dir)) return check_ok(0, "mkdtemp");
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    snprintf(bare, sizeof bare, "%s/bare.safetensors", dir);
    Config cfg = small_masked();
    Checkpoint ck, back;
    Err e;
    ckpt_alloc(&ck, &cfg, 0, 0, &e);
    params_init(&ck.table, ck.weights, 1);
    int rc = ckpt_save(path, &ck, ST_F32, &e) || ckpt_load(path, &back, &e);
    check_ok(!rc && back.table.cfg.masked && back.table.cfg.V == 23, "a masked checkpoint loads as masked, V 23");
    if (!rc) ckpt_free(&back);
    StWriter w; /* the weights alone, as PyTorch's save_file writes them */
    st_writer_init(&w);
    for (int i = 0; i < ck.table.count; i++)
        st_writer_add(&w, ck.table.info[i].name, ST_F32, ck.table.info[i].ndim, ck.table.info[i].shape,
                      ck.weights + ck.table.info[i].offset, &e);
    rc = st_writer_save(&w, bare, &e) || ckpt_load(bare, &back, &e);
    check_ok(!rc && back.table.cfg.masked && back.table.cfg.V == 23, "without metadata the shapes tell masked");
    if (!rc) ckpt_free(&back);
    st_writer_free(&w);
    ckpt_free(&ck);
    unlink(path), unlink(bare), rmdir(dir);
}

int main(void) {
    gradient_check();
    draws();
    samplers();
    checkpoints();
    return check_done();
}
