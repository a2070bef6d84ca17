/* The class mask of a DeepLab run in uint8, computed the way the original
 * TFLite model computes it: its uint8 logits resized bilinearly to the
 * network input size (RESIZE_BILINEAR, output quantized with the logits'
 * parameters) and ARG_MAX, whose ties between equal uint8 values go to the
 * lowest class index. Each pixel of the caller's image takes the class of
 * the network pixel its centre falls in (through the inverse of the
 * preprocessing map), so an image the size of the network input gets the
 * model's mask exactly. */
#ifndef MNET_INT8_Q8_MASK_H
#define MNET_INT8_Q8_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/ref/ref_kernels.h"

typedef struct mnet_q8_mask_job {
    const uint8_t *logits;       /* lo_h x lo_w x classes */
    int lo_h, lo_w, classes;
    float scale;
    int32_t zero_point;
    int net_w, net_h;
    mnet_resize_mode mode;
    double ixx, ixy, iyx, iyy, x0, y0; /* image pixel -> network pixel */
    uint8_t *cell_best;          /* lo_h * lo_w bytes of scratch */
    uint8_t *mask;
    size_t stride;
    int width, height;
} mnet_q8_mask_job;

/* Fills cell_best: per logit cell the class that wins by at least two
 * uint8 steps over every other class, 255 if none (then the pixels near it
 * are interpolated). */
void mnet_q8_mask_prepare(mnet_q8_mask_job *job);

/* Mask rows of thread `thread` of `threads` (a mnet_threadpool job). */
void mnet_q8_mask_rows(void *job, int thread, int threads);

#endif
