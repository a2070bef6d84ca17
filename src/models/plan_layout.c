/* Arena layout: every tensor gets an offset so that tensors alive at the
 * same time never overlap. A tensor lives from the step that writes it to
 * the last step that reads it (kept tensors: to the end). First fit over
 * the offsets of the tensors still alive is close to optimal for the chain
 * with short skips that MobileNets are. */
#include <stdlib.h>
#include <string.h>

#include "models/plan.h"

#define MNET_TENSOR_ALIGN_FLOATS 16

static size_t tensor_floats(const mnet_plan_tensor *t) {
    size_t n = (size_t)t->h * (size_t)t->w * (size_t)t->c;
    return (n + MNET_TENSOR_ALIGN_FLOATS - 1) / MNET_TENSOR_ALIGN_FLOATS *
           MNET_TENSOR_ALIGN_FLOATS;
}

static int lifetime_end(const mnet_plan *plan, const unsigned char *keep, int i) {
    if ((keep && keep[i]) || i == plan->output) return plan->num_steps;
    int end = plan->tensors[i].last_use;
    int start = plan->tensors[i].producer;
    return end > start ? end : start;
}

size_t mnet_plan_layout(const mnet_plan *plan, const unsigned char *keep, size_t *offsets) {
    size_t total = 0;
    int n = plan->num_tensors;
    for (int i = 0; i < n; i++) {
        int start = plan->tensors[i].producer;
        size_t need = tensor_floats(&plan->tensors[i]);
        /* Candidate offsets: 0 and the end of every live tensor; take the
         * lowest one that collides with no live tensor. */
        size_t best = SIZE_MAX;
        for (int c = -1; c < i; c++) {
            size_t cand = 0;
            if (c >= 0) {
                if (lifetime_end(plan, keep, c) < start) continue;
                cand = offsets[c] + tensor_floats(&plan->tensors[c]);
            }
            if (cand >= best) continue;
            int fits = 1;
            for (int j = 0; j < i && fits; j++) {
                if (lifetime_end(plan, keep, j) < start) continue;
                size_t lo = offsets[j], hi = offsets[j] + tensor_floats(&plan->tensors[j]);
                if (cand < hi && lo < cand + need) fits = 0;
            }
            if (fits) best = cand;
        }
        offsets[i] = best;
        if (best + need > total) total = best + need;
    }
    return total;
}
