/* engine_lock.h: one BLAS caller at a time, taken in turn.
 *
 * OpenBLAS must not be entered from two threads at once (platform notes).
 * The trainer holds this lock for each optimiser step and an infill for each
 * sampling pass; tickets make it first come, first served, so a training run
 * cannot starve the editor's animation (a plain mutex would let the trainer
 * take it back at once). */
#ifndef SDLM_ENGINE_LOCK_H
#define SDLM_ENGINE_LOCK_H

void engine_lock(void);
void engine_unlock(void);

#endif
