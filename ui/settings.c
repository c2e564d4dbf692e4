/* settings.c: the infill settings dialog and the remembered settings file.
 *
 * $XDG_DATA_HOME/sdlm/ui.conf holds `key = value` lines (sampler, steps,
 * seed, random_seed, candidates, clamp, fuse, span_slots, corpus, preset,
 * train_steps). Unknown keys and bad values are ignored, so an old or
 * hand-edited file never stops the editor. It is written atomically (temp
 * file, rename) when the editor quits and when the dialog closes. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

#define FUSE_MAX 100.0 /* as the session accepts */

void conf_defaults(UiConf *c) {
    memset(c, 0, sizeof *c);
    c->set = infill_defaults();
    c->span_slots = 4;
    c->preset = 0;
    c->train_steps = 0;
}

static void conf_line(UiConf *c, const char *k, const char *v) {
    long long n = strtoll(v, NULL, 10);
    if (!strcmp(k, "sampler")) {
        SamplerKind s;
        if (!sampler_parse(v, &s)) c->set.sampler = s;
    } else if (!strcmp(k, "steps") && n >= 1 && n <= 10000) c->set.steps = (int)n;
    else if (!strcmp(k, "seed") && n >= 0) c->set.seed = (uint64_t)n;
    else if (!strcmp(k, "random_seed")) c->set.random_seed = n != 0;
    else if (!strcmp(k, "candidates") && n >= 1 && n <= INFILL_MAX_CAND) c->set.candidates = (int)n;
    else if (!strcmp(k, "clamp")) c->set.clamp = n != 0;
    else if (!strcmp(k, "fuse") && strtod(v, NULL) >= 0 && strtod(v, NULL) <= FUSE_MAX)
        c->set.fuse = (float)strtod(v, NULL);
    else if (!strcmp(k, "span_slots") && n >= 1 && n <= DOC_SPAN_MAX) c->span_slots = (int)n;
    else if (!strcmp(k, "corpus")) snprintf(c->corpus, sizeof c->corpus, "%s", v);
    else if (!strcmp(k, "preset") && n >= 0 && n < 16) c->preset = (int)n;
    else if (!strcmp(k, "train_steps") && n >= 0) c->train_steps = n;
}

void conf_load(App *a) {
    if (!a->conf_path[0]) return;
    FILE *f = fopen(a->conf_path, "r");
    if (!f) return;
    char line[1200];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq) continue;
        *eq = 0;
        char *k = line, *v = eq + 1;
        while (*k == ' ') k++;
        for (char *e = eq - 1; e >= k && *e == ' '; e--) *e = 0;
        while (*v == ' ') v++;
        conf_line(&a->conf, k, v);
    }
    fclose(f);
    int n;
    train_presets(&n);
    if (a->conf.preset >= n) a->conf.preset = 0;
}

void conf_save(App *a) {
    if (!a->conf_path[0]) return;
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", a->conf_path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    const UiConf *c = &a->conf;
    fprintf(f, "# sdlm editor settings (written by sdlm)\n");
    fprintf(f, "sampler = %s\nsteps = %d\nseed = %llu\nrandom_seed = %d\ncandidates = %d\nclamp = %d\nfuse = %g\n",
            sampler_name(c->set.sampler), c->set.steps, (unsigned long long)c->set.seed, c->set.random_seed,
            c->set.candidates, c->set.clamp, (double)c->set.fuse);
    fprintf(f, "span_slots = %d\ncorpus = %s\npreset = %d\ntrain_steps = %lld\n", c->span_slots, c->corpus, c->preset,
            (long long)c->train_steps);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, a->conf_path)) unlink(tmp);
}

/* ---- the dialog ---- */

enum { F_SAMPLER, F_STEPS, F_SEED, F_CANDS, F_CLAMP, F_FUSE, F_SPAN, F_COUNT };

/* Each field: its name, what it does, and the editor's keys that use it
 * (named from the keymap: "(Ctrl-N/Ctrl-P flip)"). */
static const struct {
    const char *name, *about, *keys[2], *verb;
} fields[F_COUNT] = {
    {"sampler", "masked: reveal (surest first), mdlm; continuous: difflm, ddim, ddpm, unmask", {0}, NULL},
    {"steps", "denoising passes per run, 1-10000", {0}, NULL},
    {"seed", "random each run, or a number to repeat a run", {0}, NULL},
    {"candidates", "1-8, ranked best first by the model", {"candidate-next", "candidate-prev"}, "flip"},
    {"clamp", "snap estimates to the nearest token embedding", {0}, NULL},
    {"fusion", "lambda x a trigram of the model's corpus added to its logits; 0 = off", {0}, NULL},
    {"new span size", "slots of a new empty span", {"span", NULL}, NULL},
};

static void about_text(int f, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "%s", fields[f].about);
    if (!fields[f].keys[0] || n < 0 || (size_t)n >= cap) return;
    snprintf(buf + n, cap - n, " (%s%s%s%s%s)", keymap_name_of(fields[f].keys[0]), fields[f].keys[1] ? "/" : "",
             fields[f].keys[1] ? keymap_name_of(fields[f].keys[1]) : "", fields[f].verb ? " " : "",
             fields[f].verb ? fields[f].verb : "");
}

static void value_text(const App *a, int f, char *buf, size_t cap) {
    const InfillSettings *s = &a->conf.set;
    switch (f) {
    case F_SAMPLER: snprintf(buf, cap, "%s", sampler_name(s->sampler)); break;
    case F_STEPS: snprintf(buf, cap, "%d", s->steps); break;
    case F_SEED:
        if (s->random_seed) snprintf(buf, cap, "random");
        else snprintf(buf, cap, "%llu", (unsigned long long)s->seed);
        break;
    case F_CANDS: snprintf(buf, cap, "%d", s->candidates); break;
    case F_CLAMP: snprintf(buf, cap, "%s", s->clamp ? "on" : "off"); break;
    case F_FUSE:
        if (s->fuse > 0) snprintf(buf, cap, "%g", (double)s->fuse);
        else snprintf(buf, cap, "off");
        break;
    case F_SPAN: snprintf(buf, cap, "%d", a->conf.span_slots); break;
    }
}

static void settings_enter(App *a) {
    a->settings.typing = 0;
    a->settings.field = 0;
}

static const char *key(const char *action) { return keymap_name_in(SCR_SETTINGS, action); }

static void settings_draw(App *a, int top, int rows) {
    int x = 4, y = top + 1;
    char hint[256];
    draw_text(y, x, "Infill settings", a->cols - x, A_BOLD);
    snprintf(hint, sizeof hint, "%s/%s choose, %s/%s change, %s type a number, %s or %s closes (remembered)",
             key("field-prev"), key("field-next"), key("value-down"), key("value-up"), key("digits"), key("close"),
             key("back"));
    draw_wrapped(y + 1, x, hint, a->cols - x - 1, 1, color_attr(C_HINT));
    y += 3;
    for (int f = 0; f < F_COUNT && y < top + rows; f++, y++) {
        char v[64], line[128], about[160];
        value_text(a, f, v, sizeof v);
        about_text(f, about, sizeof about);
        snprintf(line, sizeof line, "%-15s", fields[f].name);
        int sel = f == a->settings.field;
        draw_text(y, x, sel ? "▶ " : "  ", 2, color_attr(C_KEY));
        draw_text(y, x + 2, line, 15, sel ? A_BOLD : 0);
        snprintf(line, sizeof line, " ‹ %-12s › ", v);
        int w = draw_text(y, x + 18, line, 18, sel ? color_attr(C_FIELD) | (int)A_BOLD : color_attr(C_FIELD));
        char fitted[192];
        fit_words(fitted, sizeof fitted, about, a->cols - (x + 20 + w) - 1);
        draw_text(y, x + 18 + w + 2, fitted, a->cols - (x + 20 + w) - 1, color_attr(C_HINT));
    }
    char about[160]; /* the chosen field's whole description, which its row may have cut */
    about_text(a->settings.field, about, sizeof about);
    if (y + 1 < top + rows) draw_wrapped(y + 1, x + 2, about, a->cols - x - 3, top + rows - y - 1, color_attr(C_HINT));
}

static void change(App *a, int dir) {
    InfillSettings *s = &a->conf.set;
    a->settings.typing = 0;
    switch (a->settings.field) {
    case F_SAMPLER: s->sampler = (SamplerKind)((s->sampler + SAMPLER_COUNT + dir) % SAMPLER_COUNT); break;
    case F_STEPS: {
        static const int ladder[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
        int n = sizeof ladder / sizeof *ladder, i = 0;
        if (dir > 0) {
            while (i < n - 1 && ladder[i] <= s->steps) i++;
        } else {
            i = n - 1;
            while (i > 0 && ladder[i] >= s->steps) i--;
        }
        s->steps = ladder[i];
        break;
    }
    case F_SEED:
        if (s->random_seed) s->random_seed = 0;
        else if (dir < 0 && s->seed == 0) s->random_seed = 1;
        else s->seed = dir < 0 ? s->seed - 1 : s->seed + 1;
        break;
    case F_CANDS:
        s->candidates += dir;
        if (s->candidates < 1) s->candidates = 1;
        if (s->candidates > INFILL_MAX_CAND) s->candidates = INFILL_MAX_CAND;
        break;
    case F_CLAMP: s->clamp = !s->clamp; break;
    case F_FUSE: {
        static const float ladder[] = {0, 0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 1, 1.5f, 2, 3, 5};
        int n = sizeof ladder / sizeof *ladder, i = 0;
        if (dir > 0) {
            while (i < n - 1 && ladder[i] <= s->fuse) i++;
        } else {
            i = n - 1;
            while (i > 0 && ladder[i] >= s->fuse) i--;
        }
        s->fuse = ladder[i];
        break;
    }
    case F_SPAN:
        a->conf.span_slots += dir;
        if (a->conf.span_slots < 1) a->conf.span_slots = 1;
        if (a->conf.span_slots > DOC_SPAN_MAX) a->conf.span_slots = DOC_SPAN_MAX;
        break;
    }
    a->redraw = 1;
}

static void move_field(App *a, int by) {
    a->settings.field = (a->settings.field + F_COUNT + by) % F_COUNT;
    a->settings.typing = 0;
    a->redraw = 1;
}
void set_up(App *a) { move_field(a, -1); }
void set_down(App *a) { move_field(a, 1); }
void set_left(App *a) { change(a, -1); }
void set_right(App *a) { change(a, 1); }
void set_close(App *a) {
    conf_save(a);
    char fuse[32] = "off";
    if (a->conf.set.fuse > 0) snprintf(fuse, sizeof fuse, "%g", (double)a->conf.set.fuse);
    app_message(a, 0, "settings: %s, %d steps, seed %s, %d candidate%s, clamp %s, fusion %s",
                sampler_name(a->conf.set.sampler), a->conf.set.steps, a->conf.set.random_seed ? "random" : "fixed",
                a->conf.set.candidates, a->conf.set.candidates > 1 ? "s" : "", a->conf.set.clamp ? "on" : "off", fuse);
    app_show(a, a->back);
}

/* digits and Backspace edit the numeric fields */
static int settings_key(App *a, int key) {
    InfillSettings *s = &a->conf.set;
    SettingsState *st = &a->settings;
    int digit = key >= '0' && key <= '9' ? key - '0' : -1;
    if (digit < 0 && key != K_BACKSPACE) {
        if (key == ' ' && (st->field == F_CLAMP || st->field == F_SAMPLER)) change(a, 1);
        return key == ' ';
    }
    long long v;
    switch (st->field) {
    case F_STEPS: v = s->steps; break;
    case F_SEED: v = s->random_seed ? 0 : (long long)s->seed; break;
    case F_CANDS: v = s->candidates; break;
    case F_SPAN: v = a->conf.span_slots; break;
    default: return 0;
    }
    if (!st->typing) v = 0;
    st->typing = 1;
    v = digit >= 0 ? v * 10 + digit : v / 10;
    if (v > 1000000000000LL) v = 1000000000000LL;
    switch (st->field) {
    case F_STEPS: s->steps = v < 1 ? 1 : v > 10000 ? 10000 : (int)v; break;
    case F_SEED: s->seed = (uint64_t)v, s->random_seed = 0; break;
    case F_CANDS: s->candidates = v < 1 ? 1 : v > INFILL_MAX_CAND ? INFILL_MAX_CAND : (int)v; break;
    case F_SPAN: a->conf.span_slots = v < 1 ? 1 : v > DOC_SPAN_MAX ? DOC_SPAN_MAX : (int)v; break;
    }
    a->redraw = 1;
    return 1;
}

const Screen screen_settings = {
    .name = "Settings", .action = "settings", .enter = settings_enter, .draw = settings_draw, .key = settings_key,
};
