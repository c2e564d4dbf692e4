/* train_settings.c: what the list of train_settings.h makes: the defaults of
 * each recipe, the metadata and JSON a run keeps, and the reading back.
 *
 * Not here: parsing flags (cli/cmd_train.c walks the same list into its
 * option table) and the run's position (the trainer's metadata). */
#include "train_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"   /* MaskKind: the masks' values */
#include "batcher.h" /* BATCHER_BUCKET_MAX: --bucket's range */

#define TS_ENTRY(kind_, field_, seed, sdlm, family_, key_, json_, resume_, flags_, metavar_, lo_, hi_, choices_, \
                 help_)                                                                                          \
    {.kind = TS_##kind_, .field = #field_, .offset = offsetof(TrainConfig, field_),                             \
     .size = sizeof(((TrainConfig *)0)->field_), .family = TS_##family_, .key = key_, .json = json_,          \
     .resume = TS_##resume_, .flags = flags_, .metavar = metavar_, .lo = lo_, .hi = hi_, .choices = choices_,  \
     .help = help_},

const TrainSetting train_settings[TRAIN_NSETTINGS] = {TRAIN_SETTINGS(TS_ENTRY)};

const TrainSetting *train_setting_of(size_t offset) {
    for (int i = 0; i < TRAIN_NSETTINGS; i++)
        if (train_settings[i].offset == offset) return &train_settings[i];
    return NULL;
}

/* ---- the recipes' defaults ------------------------------------------------------------------ */

/* 1 for the kinds that declare a field (an OFF entry's field is its FLAG's). */
#define TS_HAS_FIELD_STR 1
#define TS_HAS_FIELD_INT 1
#define TS_HAS_FIELD_U64 1
#define TS_HAS_FIELD_I64 1
#define TS_HAS_FIELD_F32 1
#define TS_HAS_FIELD_F64 1
#define TS_HAS_FIELD_FLAG 1
#define TS_HAS_FIELD_OFF 0
#define TS_HAS_FIELD_CHOICE 1
#define TS_HAS_FIELD_CHOICE_NUM 1

#define TS_SEED_DEFAULT(kind, field, seed, ...) \
    if (TS_HAS_FIELD_##kind) c.field = seed;
#define TS_RECIPE_VALUE(kind, field, seed, sdlm, ...) \
    if (TS_HAS_FIELD_##kind && (seed) != (sdlm)) c->field = r == RECIPE_SDLM ? (sdlm) : (seed);

TrainConfig trainer_defaults(void) {
    TrainConfig c;
    memset(&c, 0, sizeof c); /* padding too: configs compare with memcmp */
    TRAIN_SETTINGS(TS_SEED_DEFAULT)
    return c;
}

/* The sdlm recipe was chosen by the ablation at equal wall-clock time on two CPU cores
 * (docs/quality.md). */
void trainer_apply_recipe(TrainConfig *c, Recipe r) {
    TRAIN_SETTINGS(TS_RECIPE_VALUE)
}

/* ---- choices ------------------------------------------------------------------------------------ */

const char *train_choice_name(const TrainSetting *s, int value, char *out, size_t cap) {
    const char *p = s->choices;
    for (int i = 0; p && i < value; i++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p || value < 0) return NULL;
    snprintf(out, cap, "%.*s", (int)strcspn(p, "|"), p);
    return out;
}

int train_choice_value(const TrainSetting *s, const char *name) {
    const char *p = s->choices;
    size_t len = strlen(name);
    for (int i = 0; p; i++) {
        if (strcspn(p, "|") == len && !strncmp(p, name, len)) return i;
        p = strchr(p, '|');
        if (p) p++;
    }
    return -1;
}

static int choice_count(const TrainSetting *s) {
    int n = s->choices ? 1 : 0;
    for (const char *p = s->choices; p && *p; p++) n += *p == '|';
    return n;
}

void train_choices_text(const TrainSetting *s, char *out, size_t cap) {
    int n = choice_count(s);
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < n && len < cap; i++) {
        char name[TRAIN_META_VALUE];
        const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";
        len += (size_t)snprintf(out + len, cap - len, "%s%s", sep, train_choice_name(s, i, name, sizeof name));
    }
}

/* ---- a field through its entry ---------------------------------------------------------------- */

static void *field_of(TrainConfig *c, const TrainSetting *s) { return (char *)c + s->offset; }
static const void *field_in(const TrainConfig *c, const TrainSetting *s) { return (const char *)c + s->offset; }

void train_settings_for_family(TrainConfig *c, int masked) {
    if (!masked) return;
    TrainConfig seed = trainer_defaults();
    for (int i = 0; i < TRAIN_NSETTINGS; i++) {
        const TrainSetting *s = &train_settings[i];
        if (s->family == TS_CONTINUOUS) memcpy(field_of(c, s), field_in(&seed, s), s->size);
    }
}

/* ---- writing ---------------------------------------------------------------------------------- */

/* The value as text: numbers in C's shortest form (%g, or 9 digits when exact), a CHOICE by name. */
static void format_value(const TrainSetting *s, const TrainConfig *c, int exact, char *out, size_t cap) {
    const void *f = field_in(c, s);
    switch (s->kind) {
    case TS_STR: snprintf(out, cap, "%s", *(const char *const *)f ? *(const char *const *)f : ""); break;
    case TS_INT:
    case TS_FLAG:
    case TS_CHOICE_NUM: snprintf(out, cap, "%d", *(const int *)f); break;
    case TS_U64: snprintf(out, cap, "%llu", (unsigned long long)*(const uint64_t *)f); break;
    case TS_I64: snprintf(out, cap, "%lld", (long long)*(const int64_t *)f); break;
    case TS_F32: snprintf(out, cap, exact ? "%.9g" : "%g", (double)*(const float *)f); break;
    case TS_F64: snprintf(out, cap, exact ? "%.17g" : "%g", *(const double *)f); break;
    case TS_CHOICE:
        if (!train_choice_name(s, *(const int *)f, out, cap)) snprintf(out, cap, "?");
        break;
    case TS_OFF: out[0] = 0; break;
    }
}

int train_settings_to_meta(const TrainConfig *c, int masked, StMeta *meta, char (*values)[TRAIN_META_VALUE], int max) {
    int n = 0;
    for (int i = 0; i < TRAIN_NSETTINGS; i++) {
        const TrainSetting *s = &train_settings[i];
        if (!s->key || (s->family == TS_MASKED && !masked)) continue;
        if (n == max) return -1;
        int exact = s->resume == TS_CKPT || s->resume == TS_CKPT_OR_SEED;
        format_value(s, c, exact, values[n], TRAIN_META_VALUE);
        meta[n].key = (char *)s->key, meta[n].value = values[n];
        n++;
    }
    return n;
}

int train_settings_to_json(const TrainConfig *c, const Config *m, char *out, size_t cap) {
    size_t len = (size_t)snprintf(out, cap, "{\"V\":%d,\"E\":%d,\"D\":%d,\"layers\":%d,\"heads\":%d,\"rotary_dim\":%d",
                                  m->V, m->E, m->D, m->NL, m->H, m->R);
    for (int i = 0; i < TRAIN_NSETTINGS && len < cap; i++) {
        const TrainSetting *s = &train_settings[i];
        if (!s->json) continue;
        char value[TRAIN_META_VALUE];
        format_value(s, c, 0, value, sizeof value);
        const char *quote = s->kind == TS_CHOICE ? "\"" : ""; /* a name; a STR would need escaping */
        len += (size_t)snprintf(out + len, cap - len, ",\"%s\":%s%s%s", s->json, quote, value, quote);
    }
    if (len < cap) len += (size_t)snprintf(out + len, cap - len, "}");
    return len < cap ? 0 : -1;
}

/* ---- reading back ------------------------------------------------------------------------------ */

/* Takes text into the field when it is a value the flag would accept; returns -1 (the field
 * untouched) when not. Numbers read as strtod does, stopping at what is not a number. */
static int take_value(const TrainSetting *s, TrainConfig *c, const char *text) {
    void *f = field_of(c, s);
    int ranged = s->lo != s->hi;
    double x = strtod(text, NULL);
    switch (s->kind) {
    case TS_FLAG: *(int *)f = atoi(text) != 0; return 0;
    case TS_CHOICE: {
        int v = train_choice_value(s, text);
        if (v < 0) return -1;
        *(int *)f = v;
        return 0;
    }
    case TS_CHOICE_NUM: {
        long v = strtol(text, NULL, 10);
        if (v < 0 || v >= choice_count(s)) return -1;
        *(int *)f = (int)v;
        return 0;
    }
    case TS_INT:
        if (ranged && (x < s->lo || x > s->hi)) return -1;
        *(int *)f = atoi(text);
        return 0;
    case TS_F32:
        if (ranged && !(x >= s->lo && x <= s->hi)) return -1;
        *(float *)f = strtof(text, NULL);
        return 0;
    case TS_F64:
        if (ranged && !(x >= s->lo && x <= s->hi)) return -1;
        *(double *)f = x;
        return 0;
    case TS_U64: *(uint64_t *)f = strtoull(text, NULL, 10); return 0;
    case TS_I64: *(int64_t *)f = strtoll(text, NULL, 10); return 0;
    case TS_STR:
    case TS_OFF: return -1; /* a string would point into the checkpoint, which is freed */
    }
    return -1;
}

void train_settings_from_meta(TrainConfig *c, const Checkpoint *ck, TrainRead which) {
    TrainConfig seed = trainer_defaults();
    for (int i = 0; i < TRAIN_NSETTINGS; i++) {
        const TrainSetting *s = &train_settings[i];
        int resumed = s->resume == TS_CKPT || s->resume == TS_CKPT_OR_SEED;
        if (!s->key || (which == TRAIN_READ_RESUMED && !resumed)) continue;
        const char *v = ckpt_meta(ck, s->key);
        if ((!v || take_value(s, c, v)) && which == TRAIN_READ_RESUMED && s->resume == TS_CKPT_OR_SEED)
            memcpy(field_of(c, s), field_in(&seed, s), s->size);
    }
}
