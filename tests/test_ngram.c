/* test_ngram.c: the trigram anchor (data/ngram.h): its distributions sum to
 * one over the pieces (end symbol included) in seen and unseen contexts and
 * agree with the one-at-a-time probability; a toy corpus's repeated phrase is
 * filled exactly; the fast fusion terms equal a plain loop of direct
 * probability calls on random contexts; fusion adds lambda times those terms
 * at open positions only, and lambda 0 leaves logits (and a whole sampling
 * run of the shipped model) unchanged; the shipped corpus fits (its time is
 * printed, not checked: the machine is shared). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "modelfile.h"
#include "ngram.h"
#include "rng.h"

enum { TOY_V = 40, TOY_END = 2 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Random lines of pieces 3..V-1, a third of them holding the phrase 10 11 12 13 14. */
static Ngram *toy_model(Rng *r) {
    NgramCounts c;
    Err e;
    Ngram *ng = NULL;
    if (ngram_counts_init(&c, TOY_V, TOY_END, &e)) return NULL;
    for (int line = 0; line < 300; line++) {
        int32_t ids[40];
        int n = 3 + (int)rng_below(r, 20);
        for (int i = 0; i < n; i++) ids[i] = 3 + (int32_t)rng_below(r, TOY_V - 3);
        if (line % 3 == 0)
            for (int i = 0; i < 5; i++) ids[n + i] = 10 + i;
        if (ngram_counts_add(&c, ids, n + (line % 3 == 0 ? 5 : 0), &e)) return ngram_counts_free(&c), NULL;
    }
    return ngram_build(&ng, &c, &e) ? NULL : ng;
}

static void test_sums(const Ngram *ng, Rng *r) {
    const int nv = ngram_symbols(ng), st = ngram_start(ng);
    float p[TOY_V + 1];
    double worst = 0, worst_direct = 0;
    int ctx[][2] = {{st, st}, {st, 10}, {10, 11}, {13, 14}, {14, TOY_END}, {0, 1}, {st, 0}, {1, 1}};
    for (int t = 0; t < 200; t++) {
        int u = t < 8 ? ctx[t][0] : (int)rng_below(r, nv + 1), v = t < 8 ? ctx[t][1] : (int)rng_below(r, nv + 1);
        ngram_next_dist(ng, u, v, p);
        double s = 0;
        for (int w = 0; w < nv; w++) {
            s += p[w];
            double d = fabs(p[w] - ngram_prob(ng, u, v, w));
            worst_direct = d > worst_direct ? d : worst_direct;
            if (!(p[w] > 0)) worst = INFINITY;
        }
        worst = fabs(s - 1) > worst ? fabs(s - 1) : worst;
    }
    check_ok(worst < 1e-5, "p(. | u, v) sums to 1 over the pieces and never is 0, seen and unseen contexts (worst |sum - 1| %.2g)", worst);
    check_ok(worst_direct < 1e-6, "ngram_next_dist equals ngram_prob piece by piece (worst %.2g)", worst_direct);
    check_ok(ngram_prob(ng, 11, 12, 13) > 0.9f, "a phrase seen 100 times is predicted: p(13 | 11 12) = %.3f",
             (double)ngram_prob(ng, 11, 12, 13));
}

static void test_fill(const Ngram *ng) {
    /* 7 8 [10 11 12 13 14] 2(EOS): the whole phrase, and its middle with context on both sides */
    int32_t seq[] = {7, 8, 10, 11, 12, 13, 14, TOY_END}, out[5];
    Err e;
    int ok = !ngram_fill(ng, seq, 8, 3, 3, out, &e) && out[0] == 11 && out[1] == 12 && out[2] == 13;
    check_ok(ok, "ngram_fill: the middle of a repeated phrase (got %d %d %d)", out[0], out[1], out[2]);
    ok = !ngram_fill(ng, seq, 8, 2, 5, out, &e) && !memcmp(out, seq + 2, sizeof(int32_t) * 5);
    check_ok(ok, "ngram_fill: a whole repeated phrase before EOS (got %d %d %d %d %d)", out[0], out[1], out[2], out[3],
             out[4]);
    int32_t first[] = {10, 11, 12, 13, 14, TOY_END};
    ok = !ngram_fill(ng, first, 6, 0, 2, out, &e) && out[0] == 10 && out[1] == 11;
    check_ok(ok, "ngram_fill: a gap at the line's start, right context only (got %d %d)", out[0], out[1]);
    check_ok(ngram_fill(ng, seq, 8, 6, 3, out, &e) != 0, "ngram_fill: a gap past the end is an error (%s)", e.msg);
}

static void test_terms(const Ngram *ng, Rng *r) {
    const int nv = ngram_symbols(ng), st = ngram_start(ng), end = ngram_end(ng);
    float fast[TOY_V], plain[TOY_V], scratch[3 * TOY_V];
    double worst = 0;
    for (int t = 0; t < 300; t++) {
        /* contexts from the phrase (seen trigrams) and random ones, start and end symbols included */
        int base = 9 + (int)rng_below(r, 4), rnd = t % 2;
        int a = rnd ? (int)rng_below(r, nv + 1) : base - 1, b = rnd ? (int)rng_below(r, nv + 1) : base;
        int c = rnd ? (int)rng_below(r, nv) : base + 2, d = rnd ? (int)rng_below(r, nv) : base + 3;
        if (t % 7 == 0) a = st;
        if (t % 11 == 0) c = end;
        ngram_fusion_terms(ng, a, b, c, d, fast, scratch);
        for (int w = 0; w < nv; w++) {
            double s = log(ngram_prob(ng, a, b, w)) + log(ngram_prob(ng, b, w, c));
            if (c != end) s += log(ngram_prob(ng, w, c, d));
            plain[w] = (float)s;
        }
        for (int w = 0; w < nv; w++) {
            double err = fabs(fast[w] - plain[w]) / (1 + fabs(plain[w]));
            worst = err > worst ? err : worst;
        }
    }
    check_ok(worst < 1e-5, "fusion terms (sparse lists) equal the plain loop of ngram_prob on 300 contexts (worst rel %.2g)",
             worst);
}

static void test_fuse(const Ngram *ng) {
    const int V = TOY_V, L = 6;
    int32_t ids[6] = {7, 10, 11, 12, 13, TOY_END};
    uint8_t open[6] = {0, 0, 1, 0, 1, 0};
    float logits[6 * TOY_V], orig[6 * TOY_V], want[6 * TOY_V], terms[TOY_V], scratch[3 * TOY_V];
    for (int i = 0; i < L * V; i++) orig[i] = logits[i] = (float)sin(i * 0.37);
    NgramFusion f;
    Err e;
    if (ngram_fusion_init(&f, ng, 0.0f, V, &e)) {
        check_ok(0, "fusion init: %s", e.msg);
        return;
    }
    ngram_fuse(&f, 1, L, V, ids, open, logits);
    check_ok(!memcmp(logits, orig, sizeof logits), "lambda 0 leaves the logits unchanged");
    f.lambda = 0.5f;
    ngram_fuse(&f, 1, L, V, ids, open, logits);
    memcpy(want, orig, sizeof want);
    int st = ngram_start(ng), end = ngram_end(ng);
    ngram_fusion_terms(ng, 7, 10, 12, 13, terms, scratch); /* position 2 */
    for (int w = 0; w < V; w++) want[2 * V + w] += 0.5f * terms[w];
    ngram_fusion_terms(ng, 11, 12, TOY_END, end, terms, scratch); /* position 4: EOS after it, nothing past */
    for (int w = 0; w < V; w++) want[4 * V + w] += 0.5f * terms[w];
    check_close("fusion adds lambda x terms at the open positions only", logits, want, L * V, 1e-6, 1e-6);
    int32_t edge[2] = {5, 6};
    uint8_t both[2] = {1, 1};
    float lg[2 * TOY_V] = {0}, wl[2 * TOY_V] = {0};
    ngram_fuse(&f, 1, 2, V, edge, both, lg);
    ngram_fusion_terms(ng, st, st, 6, end, terms, scratch);
    for (int w = 0; w < V; w++) wl[w] = 0.5f * terms[w];
    ngram_fusion_terms(ng, st, 5, end, end, terms, scratch);
    for (int w = 0; w < V; w++) wl[V + w] = 0.5f * terms[w];
    check_close("fusion: start symbols before the sequence, the end symbol after it", lg, wl, 2 * V, 1e-6, 1e-6);
    ngram_fusion_free(&f);
    check_ok(ngram_fusion_init(&f, ng, 1, V + 5, &e) != 0, "fusion refuses a model of another vocabulary (%s)", e.msg);
}

/* The shipped tokenizer and corpus: the fit is fast, its distributions sum to
 * one over 2000 pieces, and in the sampler lambda 0 is the model alone. */
static void test_shipped(void) {
    ModelFile mf;
    Err e;
    if (modelfile_open(&mf, "share/sdlm-default.safetensors", NULL, 1, &e)) {
        check_ok(0, "open the shipped model: %s", e.msg);
        return;
    }
    Ngram *ng = NULL;
    double t0 = now_s();
    int rc = ngram_fit(&ng, mf.spm, "share/corpus.txt", mf.crop_len, &e);
    double secs = now_s() - t0;
    char about[160] = "";
    if (!rc) ngram_describe(ng, about, sizeof about);
    check_ok(!rc, "fit on share/corpus.txt (in %.2f s, not checked: the machine may be busy): %s%s", secs, about,
             rc ? e.msg : "");
    if (rc) {
        modelfile_close(&mf);
        return;
    }
    const int V = mf.model.cfg.V;
    float *p = malloc(sizeof(float) * V);
    double worst = 0;
    int ctx[][2] = {{ngram_start(ng), ngram_start(ng)}, {300, 301}, {V - 1, V - 2}, {ngram_start(ng), 400}};
    for (int t = 0; t < 4; t++) {
        ngram_next_dist(ng, ctx[t][0], ctx[t][1], p);
        double s = 0;
        for (int w = 0; w < V; w++) s += p[w];
        worst = fabs(s - 1) > worst ? fabs(s - 1) : worst;
    }
    check_ok(ngram_symbols(ng) == V && ngram_end(ng) == spm_eos_id(mf.spm) && worst < 1e-4,
             "the shipped corpus's trigram: %d pieces, EOS ends lines, sums to 1 (worst %.2g)", ngram_symbols(ng), worst);
    free(p);

    /* "the {4} of the world" as infill builds it, three runs: no fusion, lambda 0, lambda 1 */
    const int L = 10;
    int32_t ids[10] = {0}, out[3][10];
    uint8_t known[10] = {1, 0, 0, 0, 0, 1, 1, 1, 1, 1};
    int lengths[1] = {L}, n = 0, tok[8];
    spm_encode(mf.spm, "the", 3, tok, 8, &n, &e);
    ids[0] = tok[0];
    spm_encode(mf.spm, " of the world", 13, tok, 8, &n, &e);
    for (int i = 0; i < n && i < 4; i++) ids[5 + i] = tok[i];
    ids[9] = spm_eos_id(mf.spm);
    Workspace ws = {0};
    NgramFusion f;
    rc = workspace_alloc(&ws, &mf.model.cfg, 1, L, 0, &e) || ngram_fusion_init(&f, ng, 0.0f, V, &e);
    for (int run = 0; !rc && run < 3; run++) {
        SampleRequest rq = {.B = 1, .L = L, .ids = ids, .known = known, .lengths = lengths,
                            .kind = sampler_fit(SAMPLER_DIFFLM, &mf.model.cfg),
                            .steps = 20, .seed = 11, .fuse = run ? ngram_fuse : NULL, .fuse_ctx = &f};
        f.lambda = run == 2 ? 1.0f : 0.0f;
        rc = diffusion_sample(&mf.model, &ws, &rq, NULL, NULL, out[run], &e) < 0;
    }
    check_ok(!rc && !memcmp(out[0], out[1], sizeof out[0]), "sampler: fusion at lambda 0 is the model alone");
    check_ok(!rc && memcmp(out[0], out[2], sizeof out[0]), "sampler: fusion at lambda 1 changes the fill");
    if (!rc) ngram_fusion_free(&f);
    workspace_free(&ws);
    ngram_free(ng);
    modelfile_close(&mf);
}

int main(void) {
    Rng r;
    rng_seed(&r, 13);
    Ngram *ng = toy_model(&r);
    check_ok(ng != NULL, "a toy trigram builds from counts");
    if (ng) {
        test_sums(ng, &r);
        test_fill(ng);
        test_terms(ng, &r);
        test_fuse(ng);
        ngram_free(ng);
    }
    test_shipped();
    return check_done();
}
