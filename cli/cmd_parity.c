/* cmd_parity.c: `sdlm parity FIXTURE [--dump OUT]`: checks the engine against
 * a parity fixture written by a PyTorch implementation of model-spec.md
 * (sampling, the loss with its backward, one clipped AdamW step) and prints
 * the worst error of every expectation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adamw.h"
#include "commands.h"
#include "diffusion.h"
#include "model.h"
#include "opts.h"
#include "safetensors.h"

typedef struct {
    const StFile *f;
    StWriter dump;
    int dumping, failed, checked;
    void **keep; /* names and buffers the dump borrows until it is saved */
    int nkeep;
} Parity;

static void *keep(Parity *p, void *x) {
    p->keep = realloc(p->keep, sizeof(void *) * (p->nkeep + 1));
    p->keep[p->nkeep++] = x;
    return x;
}

/* Adds got.<name> to the dump in the dtype and shape of expect.<name>. */
static void dump_add(Parity *p, const StTensor *want, const char *name, const float *got, long n) {
    char *full = keep(p, malloc(strlen(name) + 5));
    sprintf(full, "got.%s", name);
    void *data;
    if (want->dtype == ST_I64) {
        int64_t *d = keep(p, malloc(sizeof(int64_t) * (n ? n : 1)));
        for (long i = 0; i < n; i++) d[i] = (int64_t)got[i];
        data = d;
    } else {
        data = keep(p, malloc(sizeof(float) * (n ? n : 1)));
        memcpy(data, got, sizeof(float) * n);
    }
    Err e;
    if (st_writer_add(&p->dump, full, want->dtype == ST_I64 ? ST_I64 : ST_F32, want->ndim, want->shape, data, &e))
        fprintf(stderr, "sdlm parity: cannot dump %s: %s\n", full, e.msg);
}

/* Compares got[n] with expect.<name>; err_i = |got - want| / denom(want). The
 * kinds: REL (relative to |want|; elements below 1% of the tensor's largest
 * |want| are compared relative to that 1%, since the relative error of a
 * value near zero says nothing about precision), MAXREL
 * (relative to the tensor's largest |want|), ABS (absolute), with an optional
 * skip mask. */
enum { REL, MAXREL, ABS };
static void compare(Parity *p, const char *name, const float *got, long n, int kind, double tol,
                    const uint8_t *skip) {
    char full[160];
    snprintf(full, sizeof full, "expect.%s", name);
    const StTensor *t = st_find(p->f, full);
    if (!t) return; /* the fixture does not check this */
    Err e;
    float *want = malloc(sizeof(float) * (n ? n : 1));
    int bad;
    if (t->dtype == ST_I64 || t->dtype == ST_I32 || t->dtype == ST_U8 || t->dtype == ST_BOOL) {
        int64_t *w64 = malloc(sizeof(int64_t) * (n ? n : 1));
        bad = st_read_i64(p->f, full, w64, n, &e);
        for (long i = 0; !bad && i < n; i++) want[i] = (float)w64[i];
        free(w64);
    } else {
        bad = st_read_f32(p->f, full, want, n, &e);
    }
    if (bad) {
        printf("%-58s %s\n", name, e.msg);
        p->failed++;
        free(want);
        return;
    }
    double maxabs = 0, worst = 0;
    long worst_i = 0, skipped = 0;
    for (long i = 0; i < n; i++) maxabs = fmax(maxabs, fabs(want[i]));
    for (long i = 0; i < n; i++) {
        if (skip && skip[i]) {
            skipped++;
            continue;
        }
        double d = fabs((double)got[i] - want[i]);
        double denom = kind == REL ? fmax(fabs(want[i]), 1e-2 * maxabs) : kind == MAXREL ? maxabs : 1.0;
        double err = denom > 0 ? d / denom : d;
        if (!(err <= worst) || isnan(got[i])) worst = isnan(got[i]) ? INFINITY : fmax(err, worst), worst_i = i;
    }
    int ok = worst <= tol;
    p->checked++;
    p->failed += !ok;
    printf("%-58s %-4s worst %s err %.2e (tol %.0e) at %ld%s\n", name, ok ? "ok" : "FAIL",
           kind == REL ? "rel" : kind == MAXREL ? "max-rel" : "abs", worst, tol, worst_i,
           skipped ? " (tiny-gradient elements skipped)" : "");
    if (p->dumping) dump_add(p, t, name, got, n);
    free(want);
}

/* Runs a begun sampler to the end, comparing <what>_x after the S steps and
 * <what>_logits, <what>_ids after the final pass. */
static void run_sampler(Parity *p, Sampler *s, Workspace *ws, const char *what, long N, long E, long V) {
    char name[64];
    while (s->step < s->req.steps) sampler_step(s);
    snprintf(name, sizeof name, "%s_x", what);
    compare(p, name, s->x, N * E, REL, 1e-3, NULL);
    sampler_step(s); /* the final pass at t = 0 */
    snprintf(name, sizeof name, "%s_logits", what);
    compare(p, name, ws->logits, N * V, REL, 1e-3, NULL);
    float *idsf = malloc(sizeof(float) * N);
    for (long i = 0; i < N; i++) idsf[i] = (float)s->ids[i];
    snprintf(name, sizeof name, "%s_ids", what);
    compare(p, name, idsf, N, ABS, 0, NULL);
    free(idsf);
    sampler_end(s);
}

static int meta_int(const StFile *f, const char *key, int *out, Err *e) {
    const char *v = st_meta(f, key);
    char *end;
    if (!v) return err_set(e, "%s: __metadata__ has no \"%s\"", f->path, key);
    long x = strtol(v, &end, 10);
    if (*end || end == v || x < 0 || x > 1 << 24)
        return err_set(e, "%s: metadata %s = \"%s\" is not a count", f->path, key, v);
    *out = (int)x;
    return 0;
}

static int load_config(const StFile *f, Config *c, Err *e) {
    int V = 0, E = 0, D = 0, NL = 0, H = 0, R = 0;
    if (meta_int(f, "V", &V, e) || meta_int(f, "E", &E, e) || meta_int(f, "D", &D, e) ||
        meta_int(f, "layers", &NL, e) || meta_int(f, "heads", &H, e) || meta_int(f, "rotary_dim", &R, e))
        return -1;
    *c = config_default(V);
    c->E = E, c->D = D, c->NL = NL, c->H = H, c->R = R, c->F = 4 * D, c->dropout = 0;
    int F = 0;
    if (st_meta(f, "ffn") && !meta_int(f, "ffn", &F, NULL)) c->F = F;
    if (config_validate(c, e)) return err_wrap(e, "%s", f->path);
    return 0;
}

static int load_weights(const StFile *f, Model *m, Err *e) {
    for (int i = 0; i < m->table.count; i++) {
        const ParamInfo *pi = &m->table.info[i];
        if (st_check_shape(f, pi->name, pi->ndim, pi->shape, e)) return -1;
        if (st_read_f32(f, pi->name, m->w + pi->offset, (int64_t)pi->count, e)) return -1;
    }
    return 0;
}

/* What a fixture sets up, from its metadata. */
typedef struct {
    Config cfg;
    int B, L, S, selfcond; /* S: sampling steps */
    float lr;
    SamplerKind kind;
} Setup;

static int read_setup(const StFile *f, Setup *fx, Err *e) {
    const char *sname = st_meta(f, "sampler"), *lrs = st_meta(f, "lr");
    fx->kind = SAMPLER_DIFFLM;
    if (load_config(f, &fx->cfg, e) || meta_int(f, "B", &fx->B, e) || meta_int(f, "L", &fx->L, e) ||
        meta_int(f, "sample_steps", &fx->S, e) || meta_int(f, "selfcond", &fx->selfcond, e))
        return -1;
    if (sname && sampler_parse(sname, &fx->kind)) return err_set(e, "%s: unknown sampler \"%s\"", f->path, sname);
    if (!lrs || !(fx->lr = strtof(lrs, NULL))) return err_set(e, "%s: metadata lr is missing or zero", f->path);
    if (fx->B < 1 || fx->L < 1 || fx->S < 1) return err_set(e, "%s: B, L and sample_steps must be positive", f->path);
    return 0;
}

/* Infilling from the noise of `noise`: input.infill_ids where input.infill_known
 * is set go in through x_cond, input.infill_lengths masks every pass. */
static int check_infill(Parity *p, const Model *m, Workspace *ws, const SampleRequest *noise, const Setup *fx, Err *e) {
    const int B = fx->B, L = fx->L;
    const long N = (long)B * L;
    int64_t *iids = malloc(sizeof(int64_t) * N), *iknown = malloc(sizeof(int64_t) * N);
    int64_t *ilen = malloc(sizeof(int64_t) * B);
    int32_t *ids = malloc(sizeof(int32_t) * N);
    uint8_t *known = malloc(N);
    int *lengths = malloc(sizeof(int) * B);
    int bad = !iids || !iknown || !ilen || !ids || !known || !lengths
                  ? err_set(e, "out of memory for %d x %d tokens", B, L)
                  : st_read_i64(p->f, "input.infill_ids", iids, N, e) ||
                        st_read_i64(p->f, "input.infill_known", iknown, N, e) ||
                        st_read_i64(p->f, "input.infill_lengths", ilen, B, e);
    for (long i = 0; !bad && i < N; i++) ids[i] = (int32_t)iids[i], known[i] = iknown[i] != 0;
    for (int b = 0; !bad && b < B; b++) lengths[b] = (int)(ilen[b] < 0 ? 0 : ilen[b] > L ? L : ilen[b]);
    if (!bad) {
        SampleRequest rq = *noise;
        rq.ids = ids, rq.known = known, rq.lengths = lengths;
        Sampler s;
        bad = sampler_begin(&s, m, ws, &rq, e);
        if (!bad) run_sampler(p, &s, ws, "infill", N, fx->cfg.E, fx->cfg.V);
    }
    free(iids), free(iknown), free(ilen), free(ids), free(known), free(lengths);
    return bad ? -1 : 0;
}

/* 1. Sampling from input.x_T with input.eps (a DDIM fixture may have no eps),
 * then infilling from the same noise when the fixture has input.infill_ids.
 * A fixture without input.x_T checks no sampling. */
static int check_sampling(Parity *p, const Model *m, const Setup *fx, Err *e) {
    if (!st_find(p->f, "input.x_T")) return 0;
    const long N = (long)fx->B * fx->L, E = fx->cfg.E;
    float *xT = malloc(sizeof(float) * N * E), *eps = malloc(sizeof(float) * fx->S * N * E);
    int need_eps = fx->kind != SAMPLER_DDIM || st_find(p->f, "input.eps");
    Workspace ws = {0};
    int bad = !xT || !eps ? err_set(e, "out of memory for the sampling noise")
                          : st_read_f32(p->f, "input.x_T", xT, N * E, e) ||
                                (need_eps && st_read_f32(p->f, "input.eps", eps, fx->S * N * E, e)) ||
                                workspace_alloc(&ws, &fx->cfg, fx->B, fx->L, 0, e);
    SampleRequest rq = sample_request_defaults(fx->B, fx->L, fx->kind, fx->S, 0);
    rq.x_T = xT, rq.eps = eps;
    Sampler s;
    if (!bad) bad = sampler_begin(&s, m, &ws, &rq, e);
    if (!bad) run_sampler(p, &s, &ws, "sample", N, E, fx->cfg.V);
    if (!bad && st_find(p->f, "input.infill_ids")) bad = check_infill(p, m, &ws, &rq, fx, e);
    workspace_free(&ws);
    free(xT), free(eps);
    return bad ? -1 : 0;
}

/* The loss's inputs as the fixture gives them: input.ids (checked against
 * the vocabulary), input.lengths as a length mask, input.cond_mask, input.t,
 * input.z. */
typedef struct {
    int32_t *ids;
    uint8_t *len_mask, *cond;
    float *t, *z;
} LossData;

static void loss_data_free(LossData *d) { free(d->ids), free(d->len_mask), free(d->cond), free(d->t), free(d->z); }

static int read_loss_data(const StFile *f, const Setup *fx, LossData *d, Err *e) {
    const int B = fx->B, L = fx->L, V = fx->cfg.V;
    const long N = (long)B * L;
    int64_t *ids64 = malloc(sizeof(int64_t) * N), *cond64 = malloc(sizeof(int64_t) * N);
    int64_t *len64 = malloc(sizeof(int64_t) * B);
    *d = (LossData){.ids = malloc(sizeof(int32_t) * N), .len_mask = malloc(N), .cond = malloc(N),
                    .t = malloc(sizeof(float) * B), .z = malloc(sizeof(float) * N * fx->cfg.E)};
    int bad = !ids64 || !len64 || !cond64 || !d->ids || !d->len_mask || !d->cond || !d->t || !d->z
                  ? err_set(e, "out of memory for %d x %d tokens", B, L)
                  : st_read_i64(f, "input.ids", ids64, N, e) || st_read_i64(f, "input.lengths", len64, B, e) ||
                        st_read_i64(f, "input.cond_mask", cond64, N, e) || st_read_f32(f, "input.t", d->t, B, e) ||
                        st_read_f32(f, "input.z", d->z, N * fx->cfg.E, e);
    for (long i = 0; !bad && i < N; i++) {
        if (ids64[i] < 0 || ids64[i] >= V) {
            bad = err_set(e, "%s: input.ids[%ld] = %lld is outside the vocabulary of %d", f->path, i,
                          (long long)ids64[i], V);
            break;
        }
        d->ids[i] = (int32_t)ids64[i];
        d->len_mask[i] = (i % L) < len64[i / L];
        d->cond[i] = cond64[i] != 0;
    }
    free(ids64), free(len64), free(cond64);
    return bad ? -1 : 0;
}

/* 2. The loss, its parts and every gradient (into gblock) on the fixture's
 * inputs, with its self-conditioning coin. */
static int check_loss(Parity *p, const Model *m, const Setup *fx, float *gblock, Err *e) {
    LossData d;
    Workspace ws = {0};
    Params g = {0};
    int bad = read_loss_data(p->f, fx, &d, e) || workspace_alloc(&ws, &fx->cfg, fx->B, fx->L, 1, e) ||
              (params_bind(&g, &m->table, gblock) ? err_set(e, "out of memory for the gradients") : 0);
    if (!bad) {
        LossInput in = {.B = fx->B, .L = fx->L, .ids = d.ids, .len_mask = d.len_mask, .cond = d.cond, .t = d.t,
                        .z = d.z, .selfcond = fx->selfcond};
        LossStats st;
        diffusion_loss(m, &g, &ws, &in, 1.0f, NULL, &st);
        float vals[4] = {(float)st.loss, (float)st.mse, (float)st.ce, (float)st.accuracy};
        compare(p, "loss", &vals[0], 1, REL, 1e-5, NULL);
        compare(p, "loss_mse", &vals[1], 1, REL, 1e-5, NULL);
        compare(p, "loss_ce", &vals[2], 1, REL, 1e-5, NULL);
        compare(p, "accuracy", &vals[3], 1, REL, 1e-5, NULL);
        char name[160];
        for (int i = 0; i < m->table.count; i++) {
            const ParamInfo *pi = &m->table.info[i];
            snprintf(name, sizeof name, "grad.%s", pi->name);
            compare(p, name, gblock + pi->offset, (long)pi->count, MAXREL, 1e-4, NULL);
        }
    }
    params_unbind(&g);
    workspace_free(&ws);
    loss_data_free(&d);
    return bad ? -1 : 0;
}

/* 3. The gradient clipped to 1.0 and one AdamW step at the fixture's lr. Adam
 * moves every element by about lr whatever its gradient's size: where the
 * reference gradient is tiny its sign is noise, so those elements are skipped. */
static void check_step(Parity *p, Model *m, const Setup *fx, float *gblock) {
    float norm = (float)grad_clip(gblock, m->table.total, 1.0);
    compare(p, "grad_norm", &norm, 1, REL, 1e-5, NULL);
    float *mo = calloc(m->table.total, sizeof(float)), *vo = calloc(m->table.total, sizeof(float));
    AdamW opt = adamw_default(1e-4f);
    adamw_step(&opt, m->w, gblock, mo, vo, m->table.total, 1, fx->lr);
    char name[160];
    for (int i = 0; i < m->table.count; i++) {
        const ParamInfo *pi = &m->table.info[i];
        float *ref = malloc(sizeof(float) * pi->count);
        uint8_t *skip = calloc(pi->count, 1);
        snprintf(name, sizeof name, "expect.grad.%s", pi->name);
        if (!st_read_f32(p->f, name, ref, (int64_t)pi->count, NULL)) {
            double mx = 0;
            for (size_t j = 0; j < pi->count; j++) mx = fmax(mx, fabs(ref[j]));
            for (size_t j = 0; j < pi->count; j++) skip[j] = fabs(ref[j]) < 1e-5 * mx;
        }
        snprintf(name, sizeof name, "step1.%s", pi->name);
        compare(p, name, m->w + pi->offset, (long)pi->count, ABS, 1e-2 * fx->lr, skip);
        free(ref), free(skip);
    }
    free(mo), free(vo);
}

/* Every check of the fixture, in the order of model-spec.md. */
static int check_all(Parity *p, const Setup *fx, Err *e) {
    Model m = {0};
    float *gblock = NULL;
    int bad = model_alloc(&m, &fx->cfg, e) || load_weights(p->f, &m, e);
    if (!bad) {
        printf("%s: V=%d E=%d D=%d layers=%d heads=%d rotary=%d B=%d L=%d steps=%d sampler=%s selfcond=%d lr=%g\n",
               p->f->path, fx->cfg.V, fx->cfg.E, fx->cfg.D, fx->cfg.NL, fx->cfg.H, fx->cfg.R, fx->B, fx->L, fx->S,
               sampler_name(fx->kind), fx->selfcond, fx->lr);
        bad = check_sampling(p, &m, fx, e);
    }
    if (!bad && !(gblock = calloc(m.table.total, sizeof(float)))) bad = err_set(e, "out of memory for the gradients");
    if (!bad) bad = check_loss(p, &m, fx, gblock, e);
    if (!bad) check_step(p, &m, fx, gblock);
    free(gblock);
    model_free(&m);
    return bad ? -1 : 0;
}

/* The verdict line, and the status: 1 when an expectation is out of
 * tolerance, 2 for a fixture that checks nothing, 3 when --dump fails. */
static int report(Parity *p, const char *dump) {
    Err e;
    if (dump && st_writer_save(&p->dump, dump, &e)) return cli_fail("sdlm parity", EXIT_IO, "%s", e.msg);
    printf("%d expectations checked, %d outside tolerance\n", p->checked, p->failed);
    if (!p->checked) return cli_fail("sdlm parity", EXIT_USAGE, "%s has no expect.* tensors", p->f->path);
    return p->failed ? EXIT_CHECK : EXIT_OK;
}

int cmd_parity(int argc, char **argv) {
    const char *dump = NULL, *pos[1] = {NULL};
    const Opt opts[] = {
        {"--dump", OPT_STR, &dump, "OUT.safetensors", "also write what the engine got, as got.<name> tensors", 0, 0,
         NULL},
    };
    const OptCommand c = {
        "sdlm parity", "sdlm parity FIXTURE.safetensors [--dump OUT.safetensors]",
        "Checks the engine against a PyTorch parity fixture (see model-spec.md): sampling,\n"
        "the loss and its gradients, one clipped AdamW step. Exit 0 when every expectation\n"
        "is within tolerance, 1 when one is not, 2 on bad input.",
        opts, sizeof opts / sizeof *opts, 1};
    int npos, status;
    if (opts_command(&c, argc, argv, pos, &npos, &status)) return status;
    if (!npos) return cli_fail(c.cmd, EXIT_USAGE, "needs a fixture file (try sdlm parity --help)");

    Err e;
    StFile f;
    if (st_open(&f, pos[0], &e)) return cli_fail(c.cmd, EXIT_USAGE, "%s", e.msg);
    Parity p = {.f = &f, .dumping = dump != NULL};
    st_writer_init(&p.dump);
    Setup fx;
    if (read_setup(&f, &fx, &e) || check_all(&p, &fx, &e)) status = cli_fail(c.cmd, EXIT_USAGE, "%s", e.msg);
    else status = report(&p, dump);
    for (int i = 0; i < p.nkeep; i++) free(p.keep[i]);
    free(p.keep);
    st_writer_free(&p.dump);
    st_close(&f);
    return status;
}
