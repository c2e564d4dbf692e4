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

static int read_i64_as(const StFile *f, const char *name, int64_t *buf, long n, Err *e) {
    return st_read_i64(f, name, buf, n, e);
}

static int meta_int(const StFile *f, const char *key, int *out, Err *e) {
    const char *v = st_meta(f, key);
    char *end;
    if (!v) return err_set(e, "%s: __metadata__ has no \"%s\"", f->path, key);
    long x = strtol(v, &end, 10);
    if (*end || end == v || x < 0 || x > 1 << 24) return err_set(e, "%s: metadata %s = \"%s\" is not a count", f->path, key, v);
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

static void usage(FILE *out) {
    fprintf(out, "usage: sdlm parity FIXTURE.safetensors [--dump OUT.safetensors]\n"
                 "Checks the engine against a PyTorch parity fixture (see model-spec.md): sampling,\n"
                 "the loss and its gradients, one clipped AdamW step. Exit 0 when every expectation\n"
                 "is within tolerance, 1 when one is not, 2 on bad input.\n");
}

int cmd_parity(int argc, char **argv) {
    const char *path = NULL, *dump = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout), EXIT_OK;
        if (!strcmp(argv[i], "--dump") && i + 1 < argc) dump = argv[++i];
        else if (argv[i][0] == '-' || path)
            return fprintf(stderr, "sdlm parity: unexpected \"%s\" (try sdlm parity --help)\n", argv[i]), EXIT_USAGE;
        else path = argv[i];
    }
    if (!path) return fprintf(stderr, "sdlm parity: needs a fixture file (try sdlm parity --help)\n"), EXIT_USAGE;

    Err e;
    StFile f;
    if (st_open(&f, path, &e)) return fprintf(stderr, "sdlm parity: %s\n", e.msg), EXIT_USAGE;
    Parity p = {.f = &f, .dumping = dump != NULL};
    st_writer_init(&p.dump);
    Config cfg;
    Model m = {0};
    Workspace ws = {0};
    int rc = EXIT_USAGE, B = 0, L = 0, S = 0, selfcond = 0;
    float lr = 0;
    SamplerKind kind = SAMPLER_DIFFLM;
    const char *sname = st_meta(&f, "sampler"), *lrs = st_meta(&f, "lr");
    if (load_config(&f, &cfg, &e) || meta_int(&f, "B", &B, &e) || meta_int(&f, "L", &L, &e) ||
        meta_int(&f, "sample_steps", &S, &e) || meta_int(&f, "selfcond", &selfcond, &e))
        goto fail;
    if (sname && sampler_parse(sname, &kind)) {
        err_set(&e, "%s: unknown sampler \"%s\"", path, sname);
        goto fail;
    }
    if (!lrs || !(lr = strtof(lrs, NULL))) {
        err_set(&e, "%s: metadata lr is missing or zero", path);
        goto fail;
    }
    if (B < 1 || L < 1 || S < 1) {
        err_set(&e, "%s: B, L and sample_steps must be positive", path);
        goto fail;
    }
    if (model_alloc(&m, &cfg, &e) || load_weights(&f, &m, &e)) goto fail;
    const long N = (long)B * L, E = cfg.E, V = cfg.V;
    printf("%s: V=%d E=%d D=%d layers=%d heads=%d rotary=%d B=%d L=%d steps=%d sampler=%s selfcond=%d lr=%g\n",
           path, cfg.V, cfg.E, cfg.D, cfg.NL, cfg.H, cfg.R, B, L, S, sampler_name(kind), selfcond, lr);

    /* 1. sampling from input.x_T with input.eps */
    if (st_find(&f, "input.x_T")) {
        float *xT = malloc(sizeof(float) * N * E), *eps = malloc(sizeof(float) * S * N * E);
        int bad = st_read_f32(&f, "input.x_T", xT, N * E, &e) ||
                  (kind != SAMPLER_DDIM || st_find(&f, "input.eps") ? st_read_f32(&f, "input.eps", eps, S * N * E, &e) : 0);
        if (bad || workspace_alloc(&ws, &cfg, B, L, 0, &e)) {
            free(xT), free(eps);
            goto fail;
        }
        SampleRequest rq = sample_request_defaults(B, L, kind, S, 0);
        rq.x_T = xT, rq.eps = eps;
        Sampler s;
        if (sampler_begin(&s, &m, &ws, &rq, &e)) {
            free(xT), free(eps);
            goto fail;
        }
        run_sampler(&p, &s, &ws, "sample", N, E, V);

        /* infilling: known tokens through x_cond, the length mask on every pass */
        if (st_find(&f, "input.infill_ids")) {
            int64_t *iids = malloc(sizeof(int64_t) * N), *iknown = malloc(sizeof(int64_t) * N),
                    *ilen = malloc(sizeof(int64_t) * B);
            int32_t *ids32 = malloc(sizeof(int32_t) * N);
            uint8_t *known = malloc(N);
            int *lengths = malloc(sizeof(int) * B);
            int ibad = st_read_i64(&f, "input.infill_ids", iids, N, &e) ||
                       st_read_i64(&f, "input.infill_known", iknown, N, &e) ||
                       st_read_i64(&f, "input.infill_lengths", ilen, B, &e);
            for (long i = 0; !ibad && i < N; i++) ids32[i] = (int32_t)iids[i], known[i] = iknown[i] != 0;
            for (int b = 0; !ibad && b < B; b++) lengths[b] = (int)(ilen[b] < 0 ? 0 : ilen[b] > L ? L : ilen[b]);
            SampleRequest iq = rq;
            iq.ids = ids32, iq.known = known, iq.lengths = lengths;
            if (!ibad && !sampler_begin(&s, &m, &ws, &iq, &e)) run_sampler(&p, &s, &ws, "infill", N, E, V);
            else ibad = 1;
            free(iids), free(iknown), free(ilen), free(ids32), free(known), free(lengths);
            if (ibad) {
                free(xT), free(eps);
                goto fail;
            }
        }
        workspace_free(&ws);
        free(xT), free(eps);
    }

    /* 2. the loss and its gradients */
    int64_t *ids64 = malloc(sizeof(int64_t) * N), *len64 = malloc(sizeof(int64_t) * B), *cond64 = malloc(sizeof(int64_t) * N);
    int32_t *ids = malloc(sizeof(int32_t) * N);
    uint8_t *len_mask = malloc(N), *cond = malloc(N);
    float *t = malloc(sizeof(float) * B), *z = malloc(sizeof(float) * N * E);
    float *gblock = calloc(m.table.total, sizeof(float));
    Params g = {0};
    int loss_bad = read_i64_as(&f, "input.ids", ids64, N, &e) || read_i64_as(&f, "input.lengths", len64, B, &e) ||
                   read_i64_as(&f, "input.cond_mask", cond64, N, &e) || st_read_f32(&f, "input.t", t, B, &e) ||
                   st_read_f32(&f, "input.z", z, N * E, &e) || workspace_alloc(&ws, &cfg, B, L, 1, &e) ||
                   params_bind(&g, &m.table, gblock);
    for (long i = 0; !loss_bad && i < N; i++) {
        if (ids64[i] < 0 || ids64[i] >= V) {
            loss_bad = err_set(&e, "%s: input.ids[%ld] = %lld is outside the vocabulary of %ld", path, i,
                               (long long)ids64[i], V);
            break;
        }
        ids[i] = (int32_t)ids64[i];
        len_mask[i] = (i % L) < len64[i / L];
        cond[i] = cond64[i] != 0;
    }
    if (!loss_bad) {
        LossInput in = {.B = B, .L = L, .ids = ids, .len_mask = len_mask, .cond = cond, .t = t, .z = z, .selfcond = selfcond};
        LossStats st;
        diffusion_loss(&m, &g, &ws, &in, 1.0f, NULL, &st);
        float vals[4] = {(float)st.loss, (float)st.mse, (float)st.ce, (float)st.accuracy};
        compare(&p, "loss", &vals[0], 1, REL, 1e-5, NULL);
        compare(&p, "loss_mse", &vals[1], 1, REL, 1e-5, NULL);
        compare(&p, "loss_ce", &vals[2], 1, REL, 1e-5, NULL);
        compare(&p, "accuracy", &vals[3], 1, REL, 1e-5, NULL);
        char name[160];
        for (int i = 0; i < m.table.count; i++) {
            const ParamInfo *pi = &m.table.info[i];
            snprintf(name, sizeof name, "grad.%s", pi->name);
            compare(&p, name, gblock + pi->offset, (long)pi->count, MAXREL, 1e-4, NULL);
        }

        /* 3. clip to 1.0 and one AdamW step at lr */
        float norm = (float)grad_clip(gblock, m.table.total, 1.0);
        compare(&p, "grad_norm", &norm, 1, REL, 1e-5, NULL);
        float *mo = calloc(m.table.total, sizeof(float)), *vo = calloc(m.table.total, sizeof(float));
        AdamW opt = adamw_default(1e-4f);
        adamw_step(&opt, m.w, gblock, mo, vo, m.table.total, 1, lr);
        for (int i = 0; i < m.table.count; i++) {
            const ParamInfo *pi = &m.table.info[i];
            /* Adam moves every element by about lr whatever its gradient's size:
             * where the reference gradient is tiny its sign is noise, so skip it. */
            float *ref = malloc(sizeof(float) * pi->count);
            uint8_t *skip = calloc(pi->count, 1);
            snprintf(name, sizeof name, "expect.grad.%s", pi->name);
            if (!st_read_f32(&f, name, ref, (int64_t)pi->count, NULL)) {
                double mx = 0;
                for (size_t j = 0; j < pi->count; j++) mx = fmax(mx, fabs(ref[j]));
                for (size_t j = 0; j < pi->count; j++) skip[j] = fabs(ref[j]) < 1e-5 * mx;
            }
            snprintf(name, sizeof name, "step1.%s", pi->name);
            compare(&p, name, m.w + pi->offset, (long)pi->count, ABS, 1e-2 * lr, skip);
            free(ref), free(skip);
        }
        free(mo), free(vo);
    }
    free(ids64), free(len64), free(cond64), free(ids), free(len_mask), free(cond), free(t), free(z), free(gblock);
    params_unbind(&g);
    if (loss_bad) goto fail;

    if (dump && st_writer_save(&p.dump, dump, &e)) {
        fprintf(stderr, "sdlm parity: %s\n", e.msg);
        rc = EXIT_IO;
        goto out;
    }
    printf("%d expectations checked, %d outside tolerance\n", p.checked, p.failed);
    rc = p.failed ? EXIT_CHECK : p.checked ? EXIT_OK : EXIT_USAGE;
    if (!p.checked) fprintf(stderr, "sdlm parity: %s has no expect.* tensors\n", path);
    goto out;
fail:
    fprintf(stderr, "sdlm parity: %s\n", e.msg);
out:
    for (int i = 0; i < p.nkeep; i++) free(p.keep[i]);
    free(p.keep);
    st_writer_free(&p.dump);
    workspace_free(&ws);
    model_free(&m);
    st_close(&f);
    return rc;
}
