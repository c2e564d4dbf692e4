/* editor.h: the editor screen's state, shared by its two files: editor.c
 * (the text: layout, drawing, motions, edits, the mouse) and editor_run.c
 * (the infill: running, stopping, candidates, accepting, re-rolling, the
 * scrubber and the progress line). Nothing else includes it. */
#ifndef SDLM_EDITOR_H
#define SDLM_EDITOR_H

#include "app.h"

enum { SEGS = 300, MAX_SPANS = 512 };

typedef struct {
    const char *text;
    int attr;
} Seg;

typedef struct {
    int top;           /* first text row shown */
    int want_col;      /* column kept by Up/Down; -1: the cursor's, at the next layout */
    int cand;          /* candidate shown */
    int has_run;       /* the view belongs to a run started from this text */
    char *run_text;    /* the template the run filled: its fill shows only on exactly this text */
    int rerolling;     /* the run is a re-roll of one span (its candidate keeps its place) */
    int was_active;
    int dragging;
    /* scrubber: the shown candidate's trajectory, pos -1 = live view */
    int32_t *traj_ids;
    float *traj_conf, *traj_t;
    int passes, pos;
    /* layout of the last frame: cells 0..n */
    int *row, *col, *wid;
    int cap, nrows, width, text_rows;
    int span_start[MAX_SPANS], span_len[MAX_SPANS];
    int fill_ok;
    /* the last run's pace, for the log: steps drawn while it ran */
    double run_start;
    int drawn, last_drawn_step;
} EditorState;

extern EditorState editor;

void editor_layout(App *a);
void editor_edited(App *a);                 /* after an edit: the cursor's column kept at the next layout, redraw */
void editor_moved(App *a, int to, int extend, int keep_col);
void editor_traj_drop(void);
int editor_fill_check(App *a);              /* the run's fill matches the text's spans */
int editor_span_after_blank(const Doc *d, int i); /* the span at cell i starts a line or follows a blank */
const int32_t *editor_fill_ids(App *a);     /* [len] the tokens shown: live, or the scrubber's step */
const float *editor_fill_conf(App *a);
void editor_draw_progress(App *a, int y);
int editor_tick(App *a);

#endif
