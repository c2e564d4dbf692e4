/* editor_run.c: the editor's infill: Ctrl-R runs the spans through the
 * session, Esc stops; the fill shown comes from the live view or from the
 * scrubber's step of the trajectory; candidates flip, one is accepted into
 * the text, one span re-rolls; the progress line under the text, with the
 * model's own score of the shown candidate (the session ranks them, best
 * first). The text's own drawing is in editor.c. */
#include <curses.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "clock.h"
#include "editor.h"

/* ---- which tokens fill the spans ---- */

void editor_traj_drop(EditorState *ed) {
    free(ed->traj_ids), free(ed->traj_conf), free(ed->traj_t);
    ed->traj_ids = NULL, ed->traj_conf = NULL, ed->traj_t = NULL;
    ed->passes = 0, ed->pos = -1;
}

/* Does the view's run belong to the text as it is now: the very template it
 * filled, so undo and redo show a fill only where it was made? Fills
 * span_start/len. */
int editor_fill_check(App *a) {
    EditorState *ed = &a->editor;
    const InfillView *v = a->view;
    ed->fill_ok = 0;
    if (!ed->has_run || v->len <= 0 || v->nspans <= 0 || v->nspans > MAX_SPANS) return 0;
    char now[16384];
    if (!ed->run_text || doc_template(&a->doc, now, sizeof now) >= sizeof now || strcmp(now, ed->run_text)) return 0;
    if (v->nspans != doc_span_count(&a->doc)) return 0;
    for (int k = 0; k < v->nspans; k++) ed->span_start[k] = -1, ed->span_len[k] = 0;
    for (int i = 0; i < v->len; i++) {
        int k = v->span_of[i];
        if (k < 0 || k >= v->nspans) continue;
        if (ed->span_start[k] < 0) ed->span_start[k] = i;
        ed->span_len[k]++;
    }
    for (int k = 0; k < v->nspans; k++)
        if (ed->span_len[k] != doc_span_slots(&a->doc, k)) return 0;
    if (ed->cand >= v->candidates) ed->cand = 0;
    return ed->fill_ok = 1;
}

const int32_t *editor_fill_ids(App *a) {
    EditorState *ed = &a->editor;
    if (ed->pos >= 0 && ed->traj_ids) return ed->traj_ids + (long)ed->pos * a->view->len;
    return a->view->ids[ed->cand];
}

const float *editor_fill_conf(App *a) {
    EditorState *ed = &a->editor;
    if (ed->pos >= 0 && ed->traj_conf) return ed->traj_conf + (long)ed->pos * a->view->len;
    return a->view->conf[ed->cand];
}


/* " · score 2.31 nats/token (best)": the model's own score of candidate c,
 * "" when it has none (a stopped run). */
static void editor_score_text(App *a, int c, char *out, size_t cap) {
    const InfillView *v = a->view;
    out[0] = 0;
    if (c < 0 || c >= v->candidates || !isfinite(v->score[c])) return;
    int rank = 1;
    for (int k = 0; k < v->candidates; k++) rank += isfinite(v->score[k]) && v->score[k] < v->score[c];
    snprintf(out, cap, " · score %.2f nats/token%s", (double)v->score[c],
             v->candidates < 2 ? "" : rank == 1 ? " (best)" : "");
}

/* " + trigram 0.3" while fusion is on, " (no fusion: why)" when it was asked for but is off. */
static void fuse_text(const InfillView *v, char *buf, size_t cap) {
    if (v->fuse > 0) snprintf(buf, cap, " + trigram %g", (double)v->fuse);
    else if (v->fuse_note[0]) snprintf(buf, cap, " (no fusion: %.100s)", v->fuse_note);
    else buf[0] = 0;
}

/* Passes as the settings count them: a run of S steps shows k/S (its extra
 * final pass is counted in the last). */
static int shown_steps(const InfillView *v) {
    int masked = v->sampler == SAMPLER_REVEAL || v->sampler == SAMPLER_MDLM; /* no extra pass */
    return v->total > 1 && !masked ? v->total - 1 : v->total;
}
static int shown_step(const InfillView *v) { return v->step < shown_steps(v) ? v->step : shown_steps(v); }

/* The line while a run animates: what matters most survives a narrow screen;
 * numbers keep their widths, so the line does not jitter. */
static void progress_active(App *a, char *line, size_t cap) {
    const InfillView *v = a->view;
    int bw = 12, filled = v->total ? v->step * bw / v->total : 0, sw = snprintf(NULL, 0, "%d", shown_steps(v));
    char step[48], t[24] = "", ms[32], bar[128] = "", stop[48], seed[40], watch[48] = "", fuse[160];
    for (int i = 0; i < bw; i++) strcat(bar, i < filled ? "█" : "·");
    if (v->total) snprintf(step, sizeof step, "▶ step %*d/%d", sw, shown_step(v), shown_steps(v));
    else snprintf(step, sizeof step, "▶ starting"); /* its length is not known before the sampler begins */
    if (v->sampler != SAMPLER_UNMASK && v->total) snprintf(t, sizeof t, "t=%.3f", (double)v->t); /* unmask: no t */
    if (v->total) snprintf(ms, sizeof ms, "%6.1f ms/step", v->ms_per_step);
    else ms[0] = 0;
    snprintf(stop, sizeof stop, "%s stops", keymap_name_of("infill-stop"));
    snprintf(seed, sizeof seed, "seed %llu", (unsigned long long)v->seed);
    if (v->candidates > 1) snprintf(watch, sizeof watch, "watching 1/%d", v->candidates);
    fuse_text(v, fuse, sizeof fuse);
    const char *items[] = {step, t, sampler_name(v->sampler), fuse + (fuse[0] == ' '), ms, bar, watch, stop, seed};
    static const int prio[] = {0, 3, 4, 2, 5, 2, 1, 1, 6};
    fit_items(line, cap, items, prio, 9, "  ", a->cols - 2);
}

static void progress_done(App *a, char *line, size_t cap) {
    EditorState *ed = &a->editor;
    const InfillView *v = a->view;
    char head[64], ms[32], cand[160], score[96], keys[4][64], fuse[160];
    fuse_text(v, fuse, sizeof fuse);
    if (v->finished) snprintf(head, sizeof head, "✓ filled %d/%d", shown_step(v), shown_steps(v));
    else snprintf(head, sizeof head, "■ stopped at %d/%d: partial, %s fills again", shown_step(v), shown_steps(v),
                  keymap_name_of("infill-run"));
    snprintf(ms, sizeof ms, "%.1f ms/step", v->ms_per_step);
    editor_score_text(a, ed->cand, score, sizeof score);
    snprintf(cand, sizeof cand, "candidate %d/%d%s", ed->cand + 1, v->candidates, score);
    snprintf(keys[0], sizeof keys[0], "%s accept", keymap_name_of("accept"));
    snprintf(keys[1], sizeof keys[1], "%s/%s candidates", keymap_name_of("candidate-next"),
             keymap_name_of("candidate-prev"));
    snprintf(keys[2], sizeof keys[2], "%s re-roll", keymap_name_of("reroll"));
    snprintf(keys[3], sizeof keys[3], "%s/%s scrub", keymap_name_of("scrub-back"), keymap_name_of("scrub-forward"));
    const char *items[] = {head, fuse + (fuse[0] == ' '), ms, cand, v->finished ? keys[0] : "",
                           v->candidates > 1 ? keys[1] : "", v->finished ? keys[2] : "", keys[3]};
    static const int prio[] = {0, 2, 5, 0, 1, 2, 3, 4};
    fit_items(line, cap, items, prio, 8, " · ", a->cols - 2);
}

void editor_draw_progress(App *a, int y) {
    EditorState *ed = &a->editor;
    const InfillView *v = a->view;
    char line[512];
    int attr = color_attr(C_HINT);
    if (v->error[0] && ed->has_run) {
        char msg[600];
        snprintf(msg, sizeof msg, "infill failed: %s", v->error);
        fit_words(line, sizeof line, msg, a->cols - 2);
        attr = color_attr(C_ERROR);
    } else if (ed->has_run && v->active) {
        progress_active(a, line, sizeof line);
        attr = color_attr(C_KEY);
    } else if (ed->has_run && ed->pos >= 0 && ed->passes > 0) {
        char step[64], cand[48], keys[3][64];
        int masked = v->sampler == SAMPLER_REVEAL || v->sampler == SAMPLER_MDLM; /* no pure-noise step 0 */
        snprintf(step, sizeof step, "⟲ trajectory step %d/%d  t=%.3f", ed->pos + masked, ed->passes - !masked,
                 (double)ed->traj_t[ed->pos]);
        snprintf(cand, sizeof cand, "candidate %d/%d", ed->cand + 1, v->candidates);
        snprintf(keys[0], sizeof keys[0], "%s/%s step", keymap_name_of("scrub-back"), keymap_name_of("scrub-forward"));
        snprintf(keys[1], sizeof keys[1], "%s/%s first/last", keymap_name_of("scrub-start"),
                 keymap_name_of("scrub-end"));
        snprintf(keys[2], sizeof keys[2], "%s live", keymap_name_of("infill-stop"));
        const char *items[] = {step, cand, keys[0], keys[1], keys[2]};
        static const int prio[] = {0, 1, 2, 4, 3};
        fit_items(line, sizeof line, items, prio, 5, "  ", a->cols - 2);
    } else if (ed->has_run && (v->finished || v->stopped) && ed->fill_ok) {
        progress_done(a, line, sizeof line);
        attr = v->finished ? color_attr(C_HIGH) & ~(int)A_UNDERLINE : color_attr(C_MID) & ~(int)A_UNDERLINE;
    } else {
        int spans = doc_span_count(&a->doc), slots = 0;
        for (int k = 0; k < spans; k++) slots += doc_span_slots(&a->doc, k);
        const InfillSettings *s = &a->conf.set;
        char gaps[64], set[200];
        snprintf(gaps, sizeof gaps, "%d span%s, %d slot%s", spans, spans == 1 ? "" : "s", slots, slots == 1 ? "" : "s");
        char fuse[32] = "";
        if (s->fuse > 0) snprintf(fuse, sizeof fuse, ", fusion %g", (double)s->fuse);
        snprintf(set, sizeof set, "%s, %d steps, seed %s, %d candidate%s, clamp %s%s (%s)", sampler_name(s->sampler),
                 s->steps, s->random_seed ? "random" : "fixed", s->candidates, s->candidates == 1 ? "" : "s",
                 s->clamp ? "on" : "off", fuse, keymap_name_of("settings"));
        const char *items[] = {gaps, set};
        static const int prio[] = {0, 1};
        fit_items(line, sizeof line, items, prio, 2, "  │ ", a->cols - 2);
    }
    draw_fill(y, 0, a->cols, 0);
    draw_text(y, 1, line, a->cols - 2, attr);
}


/* ---- ticks: a run ending ---- */

/* A new run's candidates come back ranked, best first: keep showing the one
 * that was animated (the user watched it) wherever it ranked. */
static void follow_watched(App *a) {
    EditorState *ed = &a->editor;
    const InfillView *v = a->view;
    for (int c = 0; !ed->rerolling && c < v->candidates; c++)
        if (v->sampled_as[c] == ed->cand) {
            ed->cand = c;
            break;
        }
}

static void say_run_ended(App *a) {
    EditorState *ed = &a->editor;
    const InfillView *v = a->view;
    if (v->error[0]) {
        app_message(a, 1, "infill: %s", v->error);
    } else if (v->finished && v->candidates > 1) {
        app_message(a, 0, "filled%s: the one you watched ranks %d of %d", v->sample_id[ed->cand] ? " and saved" : "",
                    ed->cand + 1, v->candidates);
    } else if (v->finished) {
        app_message(a, 0, "filled%s: %d step%s, %.1f ms/step, seed %llu",
                    v->sample_id[0] ? ", saved in the history" : "", shown_steps(v), shown_steps(v) == 1 ? "" : "s",
                    v->ms_per_step, (unsigned long long)v->seed);
    } else if (v->stopped) {
        app_message(a, 0, "stopped at step %d/%d: the fill is partial (%s fills again)", shown_step(v), shown_steps(v),
                    keymap_name_of("infill-run"));
    }
}

int editor_tick(App *a) {
    EditorState *ed = &a->editor;
    const InfillView *v = a->view;
    if (ed->was_active && !v->active && ed->has_run) {
        if (v->finished) follow_watched(a);
        say_run_ended(a);
        double s = now_s() - ed->run_start;
        fprintf(stderr,
                "infill pace: %d steps in %.3f s (%.1f steps/s), %d of them drawn (%.1f redrawn steps/s), %d tokens\n",
                v->step, s, v->step / s, ed->drawn, ed->drawn / s, v->len);
        a->redraw = 1;
    }
    ed->was_active = v->active;
    return 0;
}

void ed_run(App *a) {
    EditorState *ed = &a->editor;
    if (a->view->active) {
        app_message(a, 0, "a run is going: %s stops it", keymap_name_of("infill-stop"));
        return;
    }
    char tmpl[16384];
    if (doc_template(&a->doc, tmpl, sizeof tmpl) >= sizeof tmpl) {
        app_message(a, 1, "the text is too long to infill");
        return;
    }
    Err e;
    if (session_infill_start(a->s, tmpl, &a->conf.set, &e)) {
        app_message(a, 1, "%s", e.msg);
        return;
    }
    editor_traj_drop(ed);
    free(ed->run_text);
    ed->run_text = strdup(tmpl);
    ed->has_run = 1, ed->cand = 0, ed->was_active = 1, ed->rerolling = 0;
    ed->run_start = now_s(), ed->drawn = 0, ed->last_drawn_step = -1;
    a->doc_saved_version = a->doc.version;
    session_infill_view(a->s, a->view);
    fprintf(stderr, "infill: %s\n", tmpl);
    a->redraw = 1;
}

void ed_stop(App *a) {
    EditorState *ed = &a->editor;
    if (a->view->active) {
        session_infill_stop(a->s);
        app_message(a, 0, "stopping");
    } else if (ed->pos >= 0) {
        editor_traj_drop(ed);
    } else {
        doc_select_none(&a->doc);
    }
    a->redraw = 1;
}

static void flip(App *a, int dir) {
    EditorState *ed = &a->editor;
    editor_fill_check(a);
    int n = a->view->candidates;
    if (!ed->fill_ok || n < 2) {
        app_message(a, 0, n < 2 ? "one candidate: ask for more in the settings (%s)" : "no fill to flip",
                    keymap_name_of("settings"));
        return;
    }
    ed->cand = (ed->cand + n + dir) % n;
    int scrubbing = ed->pos >= 0;
    editor_traj_drop(ed);
    if (scrubbing && !a->view->active) {
        ed->passes = session_infill_trajectory(a->s, ed->cand, &ed->traj_ids, &ed->traj_conf, &ed->traj_t);
        ed->pos = ed->passes - 1;
    }
    char score[96];
    editor_score_text(a, ed->cand, score, sizeof score);
    app_message(a, 0, "candidate %d of %d%s", ed->cand + 1, n, score);
    editor_edited(a);
}
void ed_cand_next(App *a) { flip(a, 1); }
void ed_cand_prev(App *a) { flip(a, -1); }

void ed_accept(App *a) {
    EditorState *ed = &a->editor;
    editor_fill_check(a);
    if (!ed->fill_ok || a->view->active) {
        app_message(a, 0,
                    a->view->active ? "wait for the run to end (or stop it)" : "no fill to accept: %s fills the spans",
                    keymap_name_of("infill-run"));
        return;
    }
    if (!a->view->finished && ed->pos < 0) { /* a scrubbed step is the user's pick: allowed */
        app_message(a, 0, "the run was stopped half-way: its fill is partial; %s fills the spans again",
                    keymap_name_of("infill-run"));
        return;
    }
    int n = a->view->nspans;
    char **texts = calloc((size_t)n, sizeof *texts);
    if (!texts) return;
    const int32_t *ids = editor_fill_ids(a);
    for (int k = 0, cell = 0; k < n; k++) {
        while (cell < a->doc.n && !a->doc.cells[cell].slots) cell++;
        int after_blank = editor_span_after_blank(&a->doc, cell++);
        size_t cap = 64 * (size_t)ed->span_len[k] + 1, len = 0;
        texts[k] = calloc(cap, 1);
        for (int j = 0; texts[k] && j < ed->span_len[k]; j++) {
            const char *p = app_piece(a, ids[ed->span_start[k] + j]);
            if (after_blank && *p == ' ') p++;
            if (*p) after_blank = 0;
            size_t pl = strlen(p);
            if (len + pl < cap) memcpy(texts[k] + len, p, pl), len += pl;
        }
    }
    doc_fill_spans(&a->doc, (const char *const *)texts, n);
    for (int k = 0; k < n; k++) free(texts[k]);
    free(texts);
    editor_traj_drop(ed); /* has_run stays: undo brings the spans, and so their fill, back */
    a->doc_saved_version = a->doc.version; /* what was accepted is in the history */
    app_message(a, 0, "accepted candidate %d into the text (%s undoes)", ed->cand + 1, keymap_name_of("undo"));
    editor_edited(a);
}

void ed_reroll(App *a) {
    EditorState *ed = &a->editor;
    editor_fill_check(a);
    int c = doc_span_at_cursor(&a->doc);
    if (!ed->fill_ok || c < 0) {
        app_message(a, 0, !ed->fill_ok ? "fill the spans first (%s)" : "put the cursor on a span to re-roll it",
                    keymap_name_of("infill-run"));
        return;
    }
    Err e;
    if (session_infill_reroll(a->s, ed->cand, doc_span_index(&a->doc, c), &e)) {
        app_message(a, 1, "%s", e.msg);
        return;
    }
    editor_traj_drop(ed);
    ed->was_active = 1, ed->rerolling = 1;
    session_infill_view(a->s, a->view);
    a->redraw = 1;
}

static void scrub(App *a, int to_rel, int absolute) {
    EditorState *ed = &a->editor;
    editor_fill_check(a);
    if (!ed->fill_ok || a->view->active) {
        app_message(a, 0, a->view->active ? "the trajectory can be scrubbed when the run ends" : "no run to replay");
        return;
    }
    if (!ed->traj_ids) {
        ed->passes = session_infill_trajectory(a->s, ed->cand, &ed->traj_ids, &ed->traj_conf, &ed->traj_t);
        ed->pos = ed->passes - 1;
        if (ed->passes <= 0) {
            editor_traj_drop(ed);
            app_message(a, 0, "no trajectory recorded");
            return;
        }
    }
    int p = absolute ? to_rel : ed->pos + to_rel;
    if (p < 0) p = 0;
    if (p >= ed->passes) p = ed->passes - 1;
    ed->pos = p;
    editor_edited(a);
}
void ed_scrub_back(App *a) { scrub(a, -1, 0); }
void ed_scrub_fwd(App *a) { scrub(a, 1, 0); }
void ed_scrub_start(App *a) { scrub(a, 0, 1); }
void ed_scrub_end(App *a) { scrub(a, 1 << 30, 1); }

