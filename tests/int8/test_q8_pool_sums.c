/* The global pools' channel sums: every fast kernel table's channel_sums
 * against mnet_q8_ref_channel_sums, bit for bit, on random pixel counts,
 * strides wider than the channels read, channel tails and zero points; and
 * the pools built on them (AVERAGE_POOL_2D, MEAN) against the reference
 * pools. Reads past the n channels of a pixel would show under ASan: each
 * pixel row ends where the buffer does. */
#include <stdlib.h>
#include <string.h>

#include "int8/q8_kernels.h"
#include "int8/q8_mean.h"
#include "test_util.h"

static void check_set(const mnet_q8_kernels *k, test_rng *r) {
    for (int t = 0; t < 200; t++) {
        int count = t % 20 == 0 ? test_rng_int(r, 200, 4300) : test_rng_int(r, 1, 70);
        int n = t % 3 == 0 ? test_rng_int(r, 1, 40) : test_rng_int(r, 1, MNET_Q8_POOL_CHANNEL_CHUNK);
        int stride = n + (t % 2 ? test_rng_int(r, 0, 100) : 0);
        int32_t zp = test_rng_int(r, 0, 255);
        /* the last pixel holds just its n channels: nothing after them */
        size_t bytes = (size_t)(count - 1) * stride + n;
        uint8_t *in = malloc(bytes);
        int32_t want[MNET_Q8_POOL_CHANNEL_CHUNK + 1], got[MNET_Q8_POOL_CHANNEL_CHUNK + 1];
        if (!in) {
            CHECK(0);
            return;
        }
        for (size_t i = 0; i < bytes; i++) in[i] = (uint8_t)test_rng_int(r, 0, 255);
        mnet_q8_ref_channel_sums(in, count, stride, n, zp, want);
        got[n] = 0x5A5A5A5A;
        k->channel_sums(in, count, stride, n, zp, got);
        CHECK_MSG(memcmp(want, got, (size_t)n * sizeof *got) == 0,
                  "%s channel sums: count %d stride %d n %d zp %d", k->isa, count, stride, n, zp);
        CHECK_MSG(got[n] == 0x5A5A5A5A, "%s channel sums wrote past n %d", k->isa, n);
        free(in);
    }
    /* whole pools over more channels than one chunk */
    for (int t = 0; t < 20; t++) {
        int h = test_rng_int(r, 1, 12), w = test_rng_int(r, 1, 12), c = test_rng_int(r, 1, 700);
        uint8_t *in = malloc((size_t)h * w * c), *want = malloc((size_t)c), *got = malloc((size_t)c);
        if (!in || !want || !got) {
            CHECK(0);
            free(in), free(want), free(got);
            return;
        }
        for (size_t i = 0; i < (size_t)h * w * c; i++) in[i] = (uint8_t)test_rng_int(r, 0, 255);
        int32_t lo = test_rng_int(r, 0, 60), hi = test_rng_int(r, 180, 255);
        mnet_q8_ref_global_avgpool(h, w, c, lo, hi, in, want);
        mnet_q8_global_avgpool(h, w, c, lo, hi, in, got, k->channel_sums);
        CHECK_MSG(memcmp(want, got, (size_t)c) == 0, "%s average pool %dx%dx%d", k->isa, h, w, c);
        mnet_q8_mean_params p =
            mnet_q8_mean_params_init(test_rng_float(r, 0.01f, 0.2f), test_rng_int(r, 0, 255),
                                     test_rng_float(r, 0.005f, 0.2f), test_rng_int(r, 0, 255));
        mnet_q8_ref_mean(h, w, c, &p, in, want);
        mnet_q8_mean(h, w, c, &p, in, got, k->channel_sums);
        CHECK_MSG(memcmp(want, got, (size_t)c) == 0, "%s mean %dx%dx%d", k->isa, h, w, c);
        free(in), free(want), free(got);
    }
}

int main(void) {
    test_rng r = {0x9001ba11cafeull};
    const mnet_q8_kernels *sets[8];
    int n = mnet_q8_kernels_available(sets, 8), fast = 0;
    for (int i = 0; i < n; i++) {
        if (!sets[i]->channel_sums) continue; /* the reference table */
        printf("testing %s\n", sets[i]->isa);
        check_set(sets[i], &r);
        fast++;
    }
#if defined(__x86_64__)
    CHECK_MSG(fast > 0 || n == 1, "no fast table has channel sums");
#else
    (void)fast;
#endif
    TEST_MAIN_END();
}
