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

static int step_reads(const mnet_step *s, int tensor) {
    if (s->input == tensor || s->residual == tensor) return 1;
    for (int j = 0; s->kind == MNET_STEP_CONCAT && j < s->num_inputs; j++)
        if (s->inputs[j] == tensor) return 1;
    return 0;
}

/* A fused block reads its inputs until it writes its output (its last
 * step), so they live until then even when their last reader in the plan
 * is an earlier step of the block. */
static int fused_end(const mnet_plan *plan, const unsigned char *fuse, int i, int end) {
    for (int b = 0; fuse && b < plan->num_blocks; b++) {
        const mnet_fused_block *blk = &plan->blocks[b];
        int last = blk->first_step + blk->num_steps - 1;
        if (!fuse[b] || last <= end) continue;
        for (int s = blk->first_step; s <= last; s++)
            if (step_reads(&plan->steps[s], i)) end = last;
    }
    return end;
}

static int lifetime_end(const mnet_plan *plan, const unsigned char *keep,
                        const unsigned char *fuse, int i) {
    if ((keep && keep[i]) || i == plan->output || plan->tensors[i].is_output)
        return plan->num_steps;
    int end = plan->tensors[i].last_use;
    int start = plan->tensors[i].producer;
    return fused_end(plan, fuse, i, end > start ? end : start);
}

size_t mnet_plan_layout(const mnet_plan *plan, const unsigned char *keep,
                        const unsigned char *skip, const unsigned char *fuse, size_t *offsets) {
    size_t total = 0;
    int n = plan->num_tensors;
    for (int i = 0; i < n; i++) {
        if (skip && skip[i]) {
            offsets[i] = SIZE_MAX;
            continue;
        }
        int start = plan->tensors[i].producer;
        size_t need = tensor_floats(&plan->tensors[i]);
        /* Candidate offsets: 0 and the end of every live tensor; take the
         * lowest one that collides with no live tensor. */
        size_t best = SIZE_MAX;
        for (int c = -1; c < i; c++) {
            size_t cand = 0;
            if (c >= 0) {
                if ((skip && skip[c]) || lifetime_end(plan, keep, fuse, c) < start) continue;
                cand = offsets[c] + tensor_floats(&plan->tensors[c]);
            }
            if (cand >= best) continue;
            int fits = 1;
            for (int j = 0; j < i && fits; j++) {
                if ((skip && skip[j]) || lifetime_end(plan, keep, fuse, j) < start) continue;
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
