/* Requantization arithmetic vs the 64-bit definitions of q8_test_defs.h,
 * and QuantizeMultiplier's split vs the real multiplier. */
#include <math.h>

#include "int8/q8_rqtable.h"
#include "int8/requant.h"
#include "q8_test_defs.h"
#include "test_util.h"

static int32_t random_i32(test_rng *r) { return (int32_t)(uint32_t)test_rng_next(r); }

int main(void) {
    test_rng rng = {0x9e3779b97f4a7c15ull};
    /* multiplier split */
    for (int i = 0; i < 20000; i++) {
        double real = ldexp(test_rng_float(&rng, 0.5f, 1.0f) + (double)(i % 7) * 1e-9,
                            test_rng_int(&rng, -30, 12));
        mnet_requant q = mnet_requant_from_real(real);
        CHECK(q.multiplier >= (1 << 30));
        double back = ldexp((double)q.multiplier, q.shift - 31);
        CHECK_MSG(fabs(back - real) <= ldexp(1.0, q.shift - 32), "real %.17g back %.17g", real, back);
    }
    CHECK(mnet_requant_from_real(0.0).multiplier == 0);
    CHECK(mnet_requant_from_real(ldexp(1.0, -40)).multiplier == 0);
    mnet_requant one = mnet_requant_from_real(1.0);
    CHECK(one.multiplier == (1 << 30) && one.shift == 1);
    /* a mantissa rounding up to 1.0 moves to the next power of two */
    mnet_requant up = mnet_requant_from_real(1.0 - ldexp(1.0, -40));
    CHECK(up.multiplier == (1 << 30) && up.shift == 1);

    /* high multiply, division by a power of two, the composition */
    for (int i = 0; i < 200000; i++) {
        int32_t a = random_i32(&rng), b = random_i32(&rng);
        if (i % 5 == 0) a >>= test_rng_int(&rng, 0, 30);
        CHECK_MSG(mnet_srdhm(a, b) == def_high_mul(a, b), "srdhm(%d, %d)", a, b);
        int e = test_rng_int(&rng, 0, 31);
        CHECK_MSG(mnet_rounding_divide_by_pot(a, e) == def_div_pot(a, e), "rdbpot(%d, %d)", a, e);
        int32_t m = (int32_t)((1u << 30) + (uint32_t)(test_rng_next(&rng) % (1u << 30)));
        mnet_requant r = {m, test_rng_int(&rng, -31, 4)};
        int32_t x = i % 3 ? (int32_t)(random_i32(&rng) >> 8) : random_i32(&rng);
        CHECK_MSG(mnet_requant_apply(x, r) == def_requant(x, m, r.shift), "apply(%d, %d, %d)", x,
                  m, r.shift);
    }
    /* exact ties: x*M/2^31 = k + 1/2 rounds up, x/2^e = k + 1/2 away from zero */
    CHECK(mnet_srdhm(1, 1 << 30) == 1 && mnet_srdhm(-1, 1 << 30) == 0);
    CHECK(mnet_srdhm(-3, 1 << 30) == -1);
    CHECK(mnet_rounding_divide_by_pot(3, 1) == 2 && mnet_rounding_divide_by_pot(-3, 1) == -2);
    CHECK(mnet_rounding_divide_by_pot(-5, 2) == -1 && mnet_rounding_divide_by_pot(-6, 2) == -2);
    CHECK(mnet_srdhm(INT32_MIN, INT32_MIN) == INT32_MAX);
    /* SaturatingRoundingDoublingHighMul = floor((a*b + 2^30) / 2^31) for all
     * pairs but INT32_MIN * INT32_MIN (the vector kernels rely on this):
     * every pair of values near the extremes, zero and powers of two, and
     * random pairs */
    int32_t edges[64];
    int ne = 0;
    for (int d = 0; d < 6; d++) {
        edges[ne++] = INT32_MIN + d;
        edges[ne++] = INT32_MAX - d;
        edges[ne++] = d - 3;
    }
    for (int e = 0; e < 31 && ne + 2 <= 64; e += 2) {
        edges[ne++] = (int32_t)(1u << e);
        edges[ne++] = -(int32_t)(1u << e);
    }
    for (int i = 0; i < ne; i++)
        for (int j = 0; j < ne; j++) {
            int32_t a = edges[i], b = edges[j];
            if (a == INT32_MIN && b == INT32_MIN) continue;
            int64_t fl = def_floor_div((int64_t)a * b + ((int64_t)1 << 30), (int64_t)1 << 31);
            CHECK_MSG(mnet_srdhm(a, b) == fl, "srdhm(%d, %d) %d vs floor %lld", a, b,
                      mnet_srdhm(a, b), (long long)fl);
        }
    for (int i = 0; i < 2000000; i++) {
        int32_t a = random_i32(&rng), b = random_i32(&rng);
        if (i % 3 == 0) b >>= test_rng_int(&rng, 0, 31);
        if (a == INT32_MIN && b == INT32_MIN) continue;
        int64_t fl = def_floor_div((int64_t)a * b + ((int64_t)1 << 30), (int64_t)1 << 31);
        CHECK_MSG(mnet_srdhm(a, b) == fl, "srdhm(%d, %d)", a, b);
    }
    /* the kernels' table arithmetic (q8_rqtable.h) = mnet_requant_apply for
     * per-channel multipliers with left and right shifts, any accumulator */
    {
        enum { CH = 40 };
        mnet_requant rq[CH];
        for (int c = 0; c < CH; c++) {
            mnet_requant r = {(int32_t)((1u << 30) + (uint32_t)(test_rng_next(&rng) % (1u << 30))),
                              test_rng_int(&rng, -31, 6)};
            if (c == 0) r.multiplier = 0;
            if (c == 1) r.multiplier = INT32_MAX;
            rq[c] = r;
        }
        mnet_q8_conv_params p = {0};
        p.channel_requant = rq;
        int32_t table[MNET_Q8_RQ_ROWS * 48];
        CHECK(mnet_q8_rqtable_fill(table, 48, CH, &p) == 1);
        for (int i = 0; i < 400000; i++) {
            int c = i % CH;
            int32_t x = random_i32(&rng);
            if (i % 4 == 1) x >>= test_rng_int(&rng, 0, 31);
            if (i % 97 == 0) x = i % 2 ? INT32_MAX : INT32_MIN;
            CHECK_MSG(mnet_q8_rqtable_apply(x, table, 48, c) == mnet_requant_apply(x, rq[c]),
                      "table apply(%d, %d, %d)", x, rq[c].multiplier, rq[c].shift);
        }
        /* exact ties of the division, both signs */
        mnet_requant half = {1 << 30, -3}; /* x * 0.5 / 8 */
        p.channel_requant = &half;
        CHECK(mnet_q8_rqtable_fill(table, 48, 1, &p) == 0);
        for (int32_t x = -200; x <= 200; x++)
            CHECK(mnet_q8_rqtable_apply(x, table, 48, 0) == mnet_requant_apply(x, half));
    }
    /* against real arithmetic: within one of the rounded real product */
    for (int i = 0; i < 20000; i++) {
        double real = test_rng_float(&rng, 1e-5f, 0.99f);
        mnet_requant r = mnet_requant_from_real(real);
        int32_t x = (int32_t)(random_i32(&rng) >> 10);
        CHECK(fabs((double)mnet_requant_apply(x, r) - (double)x * real) <= 1.0);
    }
    TEST_MAIN_END();
}
