/* test_train_settings.c: the one list of training settings (train/train_settings.h).
 *
 * The defaults of both recipes are the values the trainer had before the list
 * (written out here as they were), names do not collide, the metadata a
 * checkpoint keeps reads back bit for bit on resume, keys a checkpoint lacks
 * read as the list says, and the history's JSON keeps its keys. No files. */
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "check.h"
#include "train_settings.h"

/* The defaults as trainer.c wrote them before the list. */
static TrainConfig old_defaults(void) {
    TrainConfig c;
    memset(&c, 0, sizeof c);
    c.epochs = 100, c.batch = 256, c.lr = 1e-4f, c.warmup = 2000, c.decay_steps = 800000, c.weight_decay = 1e-4f;
    c.accum = 1, c.E = 64, c.D = 512, c.NL = 8, c.dropout = 0.1f, c.layerdrop = 0.0f, c.crop_len = 64, c.ngen = 8;
    c.seed = 0, c.save_every = 500, c.recipe = RECIPE_SEED, c.vocab = 2000, c.shift = 1.0f, c.masks = MASK_SEED;
    c.mask_t_power = 1.0f;
    return c;
}

static TrainConfig old_sdlm(void) {
    TrainConfig c = old_defaults();
    c.recipe = RECIPE_SDLM;
    c.film_one_plus = 1, c.shift = 1.0f, c.time_warp = 1, c.fixed_norm = 1, c.masks = MASK_MIXED, c.bucket = 8;
    c.ema = 0.995f, c.batch = 32, c.lr = 2e-3f, c.warmup = 200, c.masked = 1, c.decay_end = 1, c.mask_t_power = 2.0f;
    c.mask_loss = MASK_LOSS_MEAN, c.E = 64, c.D = 128, c.NL = 2;
    return c;
}

/* The first field where a and b differ, or NULL. */
static const char *first_difference(const TrainConfig *a, const TrainConfig *b) {
    for (int i = 0; i < TRAIN_NSETTINGS; i++) {
        const TrainSetting *s = &train_settings[i];
        if (memcmp((const char *)a + s->offset, (const char *)b + s->offset, s->size)) return s->field;
    }
    return NULL;
}

static void test_defaults(void) {
    TrainConfig want = old_defaults(), got = trainer_defaults();
    const char *d = first_difference(&got, &want);
    check_ok(!d, "the seed's defaults are as before the list%s%s", d ? ": differs at " : "", d ? d : "");
    check_ok(!memcmp(&got, &want, sizeof got), "trainer_defaults: byte for byte");
    want = old_sdlm();
    trainer_apply_recipe(&got, RECIPE_SDLM);
    d = first_difference(&got, &want);
    check_ok(!d, "the sdlm recipe's values are as before the list%s%s", d ? ": differs at " : "", d ? d : "");
    trainer_apply_recipe(&got, RECIPE_SEED);
    want = old_defaults();
    check_ok(!memcmp(&got, &want, sizeof got), "recipe seed after sdlm: the seed's defaults again");
    TrainConfig kept = trainer_defaults();
    kept.corpus = "c.txt", kept.epochs = 3, kept.t_weight = 0.5f;
    trainer_apply_recipe(&kept, RECIPE_SDLM);
    check_ok(kept.corpus && kept.epochs == 3 && kept.t_weight == 0.5f,
             "a recipe leaves the settings it does not choose as they were");
}

static int same_text(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static void test_names(void) {
    int dup = 0, off_ok = 1, choices_ok = 1;
    for (int i = 0; i < TRAIN_NSETTINGS; i++) {
        const TrainSetting *s = &train_settings[i];
        for (int j = 0; j < i; j++) {
            const TrainSetting *o = &train_settings[j];
            if (same_text(s->flags, o->flags) || same_text(s->key, o->key) || same_text(s->json, o->json)) {
                check_ok(0, "settings %s and %s share a flag or a key", o->field, s->field);
                dup = 1;
            }
        }
        if (s->kind == TS_OFF) off_ok &= i > 0 && train_settings[i - 1].kind == TS_FLAG &&
                                         train_settings[i - 1].offset == s->offset && train_setting_of(s->offset) != s;
        if (s->kind == TS_CHOICE || s->kind == TS_CHOICE_NUM) choices_ok &= s->choices && strchr(s->choices, '|');
    }
    check_ok(!dup, "every flag, metadata key and JSON key is one setting's");
    check_ok(off_ok, "every OFF switch follows the FLAG it turns off");
    check_ok(choices_ok, "every CHOICE names its choices");
    char buf[32];
    const TrainSetting *r = TRAIN_SETTING(recipe);
    check_ok(same_text(train_choice_name(r, RECIPE_SDLM, buf, sizeof buf), "sdlm") &&
                 train_choice_value(r, "seed") == RECIPE_SEED && train_choice_value(r, "fast") < 0 &&
                 !train_choice_name(r, 2, buf, sizeof buf),
             "the recipe's names: seed and sdlm, nothing else");
    char text[64];
    train_choices_text(TRAIN_SETTING(masks), text, sizeof text);
    check_ok(!strcmp(text, "seed, infill or mixed"), "choices as a message: %s", text);
}

/* The metadata of c (masked or not) as a checkpoint holds it. */
typedef struct {
    StMeta meta[48];
    char values[48][TRAIN_META_VALUE];
    Checkpoint ck;
} Meta;

static void to_meta(const TrainConfig *c, int masked, Meta *m) {
    memset(m, 0, sizeof *m);
    m->ck.meta = m->meta;
    m->ck.nmeta = train_settings_to_meta(c, masked, m->meta, m->values, 48);
}

static void test_meta_values(void) {
    TrainConfig c = trainer_defaults();
    trainer_apply_recipe(&c, RECIPE_SDLM);
    Meta m;
    to_meta(&c, 1, &m);
    /* as trainer.c's save_meta wrote them before the list */
    static const char *const want[][2] = {
        {"epochs", "100"}, {"batch", "32"}, {"lr", "0.002"}, {"warmup", "200"}, {"decay_steps", "800000"},
        {"weight_decay", "0.0001"}, {"accum", "1"}, {"crop_len", "64"}, {"seed", "0"}, {"recipe", "sdlm"},
        {"decay_end", "1"}, {"mask_loss", "mean"}, {"mask_t_power", "2"}, {"shift", "1"}, {"time_warp", "1"},
        {"t_weight", "0"}, {"fixed_norm", "1"}, {"bucket", "8"}, {"masks", "2"}, {"ema_decay", "0.995"},
    };
    int n = (int)(sizeof want / sizeof *want), bad = 0;
    for (int i = 0; i < n; i++) {
        const char *v = ckpt_meta(&m.ck, want[i][0]);
        if (!same_text(v, want[i][1]))
            check_ok(0, "metadata %s: got %s, want %s", want[i][0], v ? v : "(none)", want[i][1]), bad = 1;
    }
    check_ok(!bad && m.ck.nmeta == n, "the sdlm recipe's metadata: %d keys, each as before", m.ck.nmeta);
    to_meta(&c, 0, &m);
    check_ok(!ckpt_meta(&m.ck, "mask_loss") && !ckpt_meta(&m.ck, "mask_t_power") && m.ck.nmeta == n - 2,
             "a continuous model's metadata leaves out the masked family's settings");
    c.shift = 0.7f, c.t_weight = 1.0f / 3;
    to_meta(&c, 0, &m);
    check_ok(same_text(ckpt_meta(&m.ck, "shift"), "0.699999988") && same_text(ckpt_meta(&m.ck, "t_weight"), "0.333333343"),
             "settings read back on resume are written with 9 digits (shift %s)", ckpt_meta(&m.ck, "shift"));
}

static void test_resume_reading(void) {
    TrainConfig c = trainer_defaults();
    trainer_apply_recipe(&c, RECIPE_SDLM);
    c.shift = 0.7f, c.t_weight = 1.0f / 3, c.mask_t_power = 1.5f, c.mask_loss = MASK_LOSS_ELBO, c.bucket = 5;
    c.masks = MASK_INFILL, c.time_warp = 0, c.decay_end = 0;
    c.lr = 0.5f, c.batch = 7; /* not resumed: the flags of the new session decide */
    Meta m;
    to_meta(&c, 1, &m);
    TrainConfig r = trainer_defaults();
    train_settings_from_meta(&r, &m.ck, TRAIN_READ_RESUMED);
    int same = 1;
    for (int i = 0; i < TRAIN_NSETTINGS; i++) {
        const TrainSetting *s = &train_settings[i];
        if (s->resume != TS_CKPT && s->resume != TS_CKPT_OR_SEED) continue;
        if (memcmp((char *)&r + s->offset, (char *)&c + s->offset, s->size))
            check_ok(0, "resume reads back %s", s->field), same = 0;
    }
    check_ok(same, "every resumed setting reads back bit for bit");
    check_ok(r.lr == 1e-4f && r.batch == 256, "settings not resumed stay the flags' (lr %g, batch %d)", r.lr, r.batch);

    /* a checkpoint from before some settings: CKPT keeps the flags', CKPT_OR_SEED takes the seed's */
    Checkpoint bare = {0};
    TrainConfig f = trainer_defaults();
    trainer_apply_recipe(&f, RECIPE_SDLM);
    train_settings_from_meta(&f, &bare, TRAIN_READ_RESUMED);
    check_ok(f.recipe == RECIPE_SDLM && f.time_warp && f.masks == MASK_MIXED && !f.fixed_norm && f.bucket == 0,
             "no metadata: recipe, time warp and masks stay the flags'; fixed norm and buckets off, as before them");

    /* values a flag would refuse are not taken */
    StMeta bad[] = {{"recipe", "fast"}, {"masks", "7"}, {"mask_t_power", "40"}, {"bucket", "5000"}};
    Checkpoint ck = {0};
    ck.meta = bad, ck.nmeta = 4;
    f = trainer_defaults();
    trainer_apply_recipe(&f, RECIPE_SDLM);
    train_settings_from_meta(&f, &ck, TRAIN_READ_RESUMED);
    check_ok(f.recipe == RECIPE_SDLM && f.masks == MASK_MIXED && f.mask_t_power == 2.0f && f.bucket == 0,
             "out-of-range values: the flags' (or the seed's for bucket)");

    /* modelfile_open's reading: what the checkpoint says, else the seed's */
    StMeta some[] = {{"shift", "0.5"}, {"crop_len", "32"}, {"fixed_norm", "1"}};
    ck.meta = some, ck.nmeta = 3;
    TrainConfig all = trainer_defaults();
    train_settings_from_meta(&all, &ck, TRAIN_READ_ALL);
    check_ok(all.shift == 0.5f && all.crop_len == 32 && all.fixed_norm && all.batch == 256,
             "reading all: the checkpoint's shift, crop length and norm, the seed's elsewhere");
}

static void test_json(void) {
    TrainConfig c = trainer_defaults();
    Config m = {.V = 400, .E = 8, .D = 32, .NL = 1, .H = 8, .R = 4};
    char json[1024];
    check_ok(!train_settings_to_json(&c, &m, json, sizeof json), "the run's JSON fits");
    const char *want = "{\"V\":400,\"E\":8,\"D\":32,\"layers\":1,\"heads\":8,\"rotary_dim\":4,\"epochs\":100,"
                       "\"batch\":256,\"lr\":0.0001,\"warmup\":2000,\"decay_steps\":800000,\"weight_decay\":0.0001,"
                       "\"accum\":1,\"dropout\":0.1,\"layerdrop\":0,\"crop_len\":64,\"save_every\":500,\"ema\":0}";
    check_ok(!strcmp(json, want), "the history's JSON keeps its keys and values: %s", json);
    check_ok(train_settings_to_json(&c, &m, json, 40) < 0, "a JSON that does not fit is an error");
}

static void test_family(void) {
    TrainConfig c = trainer_defaults();
    trainer_apply_recipe(&c, RECIPE_SDLM);
    c.shift = 0.5f, c.t_weight = 2;
    TrainConfig cont = c;
    train_settings_for_family(&cont, 0);
    check_ok(!memcmp(&cont, &c, sizeof c), "a continuous model keeps its noise settings");
    train_settings_for_family(&c, 1);
    check_ok(c.shift == 1.0f && c.t_weight == 0 && !c.time_warp && c.masks == MASK_MIXED && c.fixed_norm,
             "a masked model: the seed's shift, no t-weight or time warp; the rest as set");
}

int main(void) {
    test_defaults();
    test_names();
    test_meta_values();
    test_resume_reading();
    test_json();
    test_family();
    return check_done();
}
