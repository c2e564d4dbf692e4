/* editor.h: what the editor screen's two files share: editor.c (the text:
 * layout, drawing, motions, edits, the mouse) and editor_run.c (the infill:
 * running, stopping, candidates, accepting, re-rolling, the scrubber and the
 * progress line). Its state is App.editor (app.h). Nothing else includes it. */
#ifndef SDLM_EDITOR_H
#define SDLM_EDITOR_H

#include "app.h"

enum { SEGS = 300 };

typedef struct {
    const char *text;
    int attr;
} Seg;

void editor_layout(App *a);
void editor_edited(App *a);                 /* after an edit: the cursor's column kept at the next layout, redraw */
void editor_moved(App *a, int to, int extend, int keep_col);
void editor_traj_drop(EditorState *ed);
int editor_fill_check(App *a);              /* the run's fill matches the text's spans */
int editor_span_after_blank(const Doc *d, int i); /* the span at cell i starts a line or follows a blank */
const int32_t *editor_fill_ids(App *a);     /* [len] the tokens shown: live, or the scrubber's step */
const float *editor_fill_conf(App *a);
void editor_draw_progress(App *a, int y);
int editor_tick(App *a);

#endif
