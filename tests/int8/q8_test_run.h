/* Runs one layer through a kernel set and through the scalar reference and
 * says whether every output byte agrees: the comparison the int8 kernel
 * tests share. The kernel set runs in calls split at random pixels or rows
 * (split[] reports where), as threads split a layer, so ranges that start
 * inside the tensor are exercised too. */
#ifndef MNET_TEST_Q8_TEST_RUN_H
#define MNET_TEST_Q8_TEST_RUN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "int8/q8_kernels.h"
#include "test_util.h"

/* Two calls, split at split[0]. 0 also when an allocation fails. */
static inline int q8_pointwise_agrees(const mnet_q8_kernels *k, test_rng *r, int in_c, int out_c,
                                      const mnet_q8_conv_params *p, const uint8_t *in,
                                      const uint8_t *w, const int32_t *bias, int pixels,
                                      int split[1]) {
    size_t n = (size_t)pixels * out_c + 1;
    uint8_t *a = malloc(n), *b = malloc(n);
    int32_t *pb = malloc(((size_t)out_c + 64) * 4);
    void *packed = malloc(k->pointwise_pack_bytes(in_c, out_c));
    int same = 0;
    split[0] = 0;
    if (a && b && pb && packed) {
        k->pointwise_pack(in_c, out_c, p, w, bias, packed, pb);
        mnet_q8_ref_pointwise(in_c, out_c, p, in, w, bias, a, 0, pixels);
        memset(b, 0xA5, n);
        split[0] = test_rng_int(r, 0, pixels);
        k->pointwise(in_c, out_c, p, in, packed, pb, b, 0, split[0]);
        k->pointwise(in_c, out_c, p, in, packed, pb, b, split[0], pixels);
        same = memcmp(a, b, n - 1) == 0;
    }
    free(a), free(b), free(pb), free(packed);
    return same;
}

/* Depthwise (or any grouped convolution the set's depthwise kernel takes):
 * three calls, split at output rows split[0] <= split[1]. */
static inline int q8_depthwise_agrees(const mnet_q8_kernels *k, test_rng *r,
                                      const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                                      const uint8_t *in, const uint8_t *w, const int32_t *bias,
                                      int split[2]) {
    size_t n = (size_t)g->out_h * g->out_w * g->out_c + 1;
    uint8_t *a = malloc(n), *b = malloc(n);
    int32_t *pb = malloc(((size_t)g->out_c + 64) * 4);
    void *packed = malloc(k->depthwise_pack_bytes(g));
    int same = 0;
    split[0] = split[1] = 0;
    if (a && b && pb && packed) {
        k->depthwise_pack(g, p, w, bias, packed, pb);
        mnet_q8_ref_conv(g, p, in, w, bias, a, 0, g->out_h);
        memset(b, 0x5A, n);
        split[0] = test_rng_int(r, 0, g->out_h);
        split[1] = test_rng_int(r, split[0], g->out_h);
        k->depthwise(g, p, in, packed, pb, b, 0, split[0]);
        k->depthwise(g, p, in, packed, pb, b, split[0], split[1]);
        k->depthwise(g, p, in, packed, pb, b, split[1], g->out_h);
        same = memcmp(a, b, n - 1) == 0;
    }
    free(a), free(b), free(pb), free(packed);
    return same;
}

/* Runs check on every fast kernel set this CPU runs (the scalar reference
 * left out), each explicitly: plain AVX2 too on a VNNI CPU. */
static inline void q8_for_each_fast_set(void (*check)(const mnet_q8_kernels *, test_rng *),
                                        test_rng *r) {
    const mnet_q8_kernels *sets[8];
    int n = mnet_q8_kernels_available(sets, 8);
    for (int i = 0; i < n; i++) {
        if (sets[i] == &mnet_q8_kernels_ref) continue;
        printf("testing %s\n", sets[i]->isa);
        check(sets[i], r);
    }
}

#endif
