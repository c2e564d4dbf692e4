/* params.c: the tensor table resolved for a Config, and binding it to a block. */
#include "params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

Config config_default(int V) {
    return (Config){.V = V, .E = 64, .D = 512, .NL = 8, .H = 8, .R = 32, .F = 4 * 512,
                    .dropout = 0.1f, .layerdrop = 0.0f, .film_one_plus = 0};
}

int config_validate(const Config *c, Err *e) {
    if (c->V < 2 || c->V > (1 << 24)) return err_set(e, "vocabulary size %d is out of range (2..16M)", c->V);
    if (c->E < 1 || c->E > 65536) return err_set(e, "embedding dim %d is out of range", c->E);
    if (c->D < 1 || c->D > 65536) return err_set(e, "model dim %d is out of range", c->D);
    if (c->NL < 1 || c->NL > 1024) return err_set(e, "layer count %d is out of range", c->NL);
    if (c->H < 1 || c->D % c->H) return err_set(e, "model dim %d is not a multiple of %d heads", c->D, c->H);
    if (c->R < 0 || c->R % 2 || c->R > c->D / c->H)
        return err_set(e, "rotary dims %d must be even and at most the head dim %d", c->R, c->D / c->H);
    if (c->F < 1 || c->F > 1 << 20) return err_set(e, "feed-forward dim %d is out of range", c->F);
    if (!(c->dropout >= 0 && c->dropout < 1)) return err_set(e, "dropout %g must be in [0, 1)", c->dropout);
    if (!(c->layerdrop >= 0 && c->layerdrop < 1)) return err_set(e, "layer-drop %g must be in [0, 1)", c->layerdrop);
    if (c->masked != 0 && c->masked != 1) return err_set(e, "model family %d is neither continuous nor masked",
                                                         c->masked);
    return 0;
}

static void add(ParamTable *t, const char *name, int ndim, int64_t d0, int64_t d1, int init, float std) {
    ParamInfo *p = &t->info[t->count++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->shape[0] = d0;
    p->shape[1] = ndim == 2 ? d1 : 1;
    p->count = (size_t)d0 * (size_t)(ndim == 2 ? d1 : 1);
    p->offset = t->total;
    p->init = init;
    p->std = std;
    t->total += p->count;
}

#define COUNT_ONE(...) +1

int param_table_build(ParamTable *t, const Config *c, Err *e) {
    memset(t, 0, sizeof *t);
    if (config_validate(c, e)) return -1;
    t->cfg = *c;
    int n = (0 GLOBAL_PARAMS_HEAD(COUNT_ONE) GLOBAL_PARAMS_TAIL(COUNT_ONE)) + c->NL * (0 LAYER_PARAMS(COUNT_ONE));
    t->info = calloc((size_t)n, sizeof *t->info);
    if (!t->info) return err_set(e, "out of memory for the parameter table");
#define ADD_GLOBAL(field, name, ndim, d0, d1, init, std) add(t, name, ndim, d0, d1, init, std);
    GLOBAL_PARAMS_HEAD(ADD_GLOBAL)
    for (int i = 0; i < c->NL; i++) {
        char full[PARAM_NAME_MAX];
#define ADD_LAYER(field, name, ndim, d0, d1, init, std)                              \
        snprintf(full, sizeof full, "estimator.encoder_layers.%d.%s", i, name);      \
        add(t, full, ndim, d0, d1, init, std);
        LAYER_PARAMS(ADD_LAYER)
    }
    GLOBAL_PARAMS_TAIL(ADD_GLOBAL)
    return 0;
}

void param_table_free(ParamTable *t) {
    free(t->info);
    memset(t, 0, sizeof *t);
}

int param_table_find(const ParamTable *t, const char *name) {
    for (int i = 0; i < t->count; i++)
        if (!strcmp(t->info[i].name, name)) return i;
    return -1;
}

int params_bind(Params *p, const ParamTable *t, float *block) {
    const Config *c = &t->cfg;
    memset(p, 0, sizeof *p);
    p->layer = calloc((size_t)c->NL, sizeof *p->layer);
    if (!p->layer) return -1;
    /* Walk the table in the order it was built: the same order as the macros. */
    const ParamInfo *info = t->info;
#define BIND_GLOBAL(field, name, ndim, d0, d1, init, std) p->field = block + (info++)->offset;
    GLOBAL_PARAMS_HEAD(BIND_GLOBAL)
    for (int i = 0; i < c->NL; i++) {
#define BIND_LAYER(field, name, ndim, d0, d1, init, std) p->layer[i].field = block + (info++)->offset;
        LAYER_PARAMS(BIND_LAYER)
    }
    GLOBAL_PARAMS_TAIL(BIND_GLOBAL)
    return 0;
}

void params_unbind(Params *p) {
    free(p->layer);
    p->layer = NULL;
}

void params_init(const ParamTable *t, float *block, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < t->count; i++) {
        const ParamInfo *p = &t->info[i];
        float *x = block + p->offset;
        for (size_t j = 0; j < p->count; j++)
            x[j] = p->init == INIT_ONE ? 1.0f : p->init == INIT_ZERO ? 0.0f : p->std * rng_normal(&r);
    }
}
