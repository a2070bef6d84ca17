/* The class mask of a DeepLab run in uint8, computed the way the original
 * TFLite model computes it: its uint8 logits resized bilinearly to the
 * network input size (RESIZE_BILINEAR, output quantized with the logits'
 * parameters) and ARG_MAX, whose ties between equal uint8 values go to the
 * lowest class index. Each pixel of the caller's image takes the class of
 * the network pixel its centre falls in (through the inverse of the
 * preprocessing map), so an image the size of the network input gets the
 * model's mask exactly.
 *
 * Only the network pixels that image pixels sample are evaluated, each
 * once per run of equal neighbours. Without rotation the logits are
 * interpolated along x once per logit row and sampled column (kept for the
 * network rows between two logit rows), and each row then needs one lerp
 * along y, the quantization and the arg max per class, on 16 pixels at a
 * time with AVX-512. The float operations are the reference's, in its
 * order, so the mask is bit-identical to mnet_q8_resized_argmax. */
#ifndef MNET_INT8_Q8_MASK_H
#define MNET_INT8_Q8_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "int8/q8_ops.h"
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

/* The class of one network pixel from its taps: the first class with the
 * largest interpolated, quantized uint8 value (mnet_q8_argmax_at's
 * signature and result). */
typedef int (*mnet_q8_mask_argmax_fn)(const uint8_t *logits, int lo_w, int classes, float scale,
                                      int32_t zero_point, mnet_q8_tap ty, mnet_q8_tap tx);

/* The classes of `count` (1..16) network pixels of one row, `classes`
 * 1..32 (the scalar kernel keeps its values on the stack), from their
 * logits already interpolated along x: top[k * stride + u] and
 * bottom[k * stride + u] for class k and pixel u (the two logit rows).
 * out[u] = the first class with the largest
 * mnet_q8_quantize(lerp(top, bottom, wy)), lerp as Arm NN's. */
typedef void (*mnet_q8_mask_block_fn)(const float *top, const float *bottom, size_t stride,
                                      int classes, int count, float wy, float scale,
                                      int32_t zero_point, uint8_t *out);

/* The kernels one mask is computed with. */
typedef struct mnet_q8_mask_kernels {
    mnet_q8_mask_argmax_fn argmax; /* a rotated transform, or more than 32 classes */
    mnet_q8_mask_block_fn block;   /* no rotation, up to 32 classes */
} mnet_q8_mask_kernels;

/* Fills cell_best: per logit cell the class that wins by at least two
 * uint8 steps over every other class, 255 if none (then the pixels near it
 * are interpolated). */
void mnet_q8_mask_prepare(mnet_q8_mask_job *job);

/* Mask rows of thread `thread` of `threads` (a mnet_threadpool job), with
 * the kernels for this CPU. */
void mnet_q8_mask_rows(void *job, int thread, int threads);

/* The same with given kernels (tests compare them). */
void mnet_q8_mask_rows_with(const mnet_q8_mask_job *job, const mnet_q8_mask_kernels *kernels,
                            int thread, int threads);

/* The AVX-512 kernels when allowed, compiled and the CPU runs them, else
 * the scalar ones (mnet_q8_argmax_at, mnet_q8_mask_block_scalar). */
mnet_q8_mask_kernels mnet_q8_mask_kernels_select(int allow_avx512);

/* Scalar block kernel (the reference twin) and the AVX-512 kernels
 * (q8_mask_avx512.c: classes on 16 lanes for the argmax, pixels on 16
 * lanes for the block); call those only when mnet_q8_mask_avx512_compiled()
 * and the CPU runs AVX-512 F/BW/VL/DQ. */
void mnet_q8_mask_block_scalar(const float *top, const float *bottom, size_t stride, int classes,
                               int count, float wy, float scale, int32_t zero_point,
                               uint8_t *out);
int mnet_q8_mask_argmax_avx512(const uint8_t *logits, int lo_w, int classes, float scale,
                               int32_t zero_point, mnet_q8_tap ty, mnet_q8_tap tx);
void mnet_q8_mask_block_avx512(const float *top, const float *bottom, size_t stride, int classes,
                               int count, float wy, float scale, int32_t zero_point,
                               uint8_t *out);
int mnet_q8_mask_avx512_compiled(void);

#endif
