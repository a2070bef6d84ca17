/* Running a plan: one kernel call per step over the session's arena. */
#include "models/plan.h"

static void run_step(const mnet_plan *plan, const mnet_step *s, float *base,
                     const size_t *offsets) {
    const mnet_kernels *k = plan->kernels;
    const float *in = base + offsets[s->input];
    float *out = base + offsets[s->output];
    const float *w = plan->weights + s->weights_offset;
    const float *bias = plan->weights + s->bias_offset;
    const mnet_conv_geometry *g = &s->geom;
    switch (s->kind) {
    case MNET_STEP_CONV:
        k->conv2d(g, in, w, bias, s->act, out, 0, g->out_h);
        break;
    case MNET_STEP_DEPTHWISE:
        k->depthwise(g, in, w, bias, s->act, out, 0, g->out_h);
        break;
    case MNET_STEP_POINTWISE:
    case MNET_STEP_FC: {
        const float *res = s->residual >= 0 ? base + offsets[s->residual] : NULL;
        k->pointwise(g->in_c, g->out_c, in, w, bias, res, s->act, out, 0,
                     g->out_h * g->out_w);
        break;
    }
    case MNET_STEP_GLOBAL_POOL:
        mnet_ref_global_avgpool_f32(g->in_h, g->in_w, g->in_c, in, out);
        break;
    }
}

void mnet_plan_execute(const mnet_plan *plan, float *base, const size_t *offsets) {
    for (int i = 0; i < plan->num_steps; i++) run_step(plan, &plan->steps[i], base, offsets);
}
