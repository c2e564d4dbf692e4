/* sampler.h: the samplers' names, apart from the engine that runs them
 * (diffusion.h), so the editor's screens can name and choose one without
 * seeing the model, its parameters or its workspace. */
#ifndef SDLM_SAMPLER_H
#define SDLM_SAMPLER_H

/* The reverse processes. The first four sample the continuous family, the
 * last two the masked family (masked.h); sampler_fit picks a family's own. */
typedef enum {
    SAMPLER_DIFFLM, /* the seed's default: each step re-noises the estimate to the next t */
    SAMPLER_DDIM,   /* deterministic: the next x from the estimate and the noise it implies */
    SAMPLER_DDPM,   /* ancestral: the posterior step with fresh noise */
    /* not the seed's: each step fills every open position in one shot from
     * pure noise (a pass at t = 1, self-conditioned on the previous step, then
     * a pass at t = 0 on its estimate) and keeps the most confident fills, so
     * that after step s of S a share s/S of each sequence's open positions is
     * fixed; a fixed token enters the next steps through the conditional
     * channel, as known tokens do in training. Two passes per step. */
    SAMPLER_UNMASK,
    SAMPLER_REVEAL, /* masked family: shows the surest hidden positions first */
    SAMPLER_MDLM,   /* masked family: reveals at random, as MDLM's ancestral sampler */
    SAMPLER_COUNT
} SamplerKind;

const char *sampler_name(SamplerKind k);
int sampler_parse(const char *name, SamplerKind *k); /* 0 on success */

#endif
