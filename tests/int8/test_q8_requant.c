/* Requantization arithmetic vs the 64-bit definitions of q8_test_defs.h,
 * and QuantizeMultiplier's split vs the real multiplier. */
#include <float.h>
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
        /* separate statements: argument evaluation order is unspecified */
        double mantissa = test_rng_float(&rng, 0.5f, 1.0f) + (double)(i % 7) * 1e-9;
        double real = ldexp(mantissa, test_rng_int(&rng, -30, 12));
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

    /* high multiply and division by a power of two (the softmax's) */
    for (int i = 0; i < 200000; i++) {
        int32_t a = random_i32(&rng), b = random_i32(&rng);
        if (i % 5 == 0) a >>= test_rng_int(&rng, 0, 30);
        CHECK_MSG(mnet_srdhm(a, b) == def_high_mul(a, b), "srdhm(%d, %d)", a, b);
        int e = test_rng_int(&rng, 0, 31);
        CHECK_MSG(mnet_rounding_divide_by_pot(a, e) == def_div_pot(a, e), "rdbpot(%d, %d)", a, e);
    }
    /* the requantization (single rounding) vs the int64 floor-division
     * definition and vs long double: random pairs over every shift TFLite
     * allows (-31..30, multipliers above 1 included, whose results may wrap) */
    for (int i = 0; i < 3000000; i++) {
        int32_t m = (int32_t)((1u << 30) + (uint32_t)(test_rng_next(&rng) % (1u << 30)));
        int shift = i % 4 ? test_rng_int(&rng, -31, 4) : test_rng_int(&rng, -31, 30);
        mnet_requant r = {m, shift};
        int32_t x = random_i32(&rng);
        if (i % 3) x >>= test_rng_int(&rng, 0, 31);
        CHECK_MSG(mnet_requant_apply(x, r) == def_requant(x, m, r.shift), "apply(%d, %d, %d)", x,
                  m, r.shift);
        if (LDBL_MANT_DIG >= 64 && shift <= 0) {
            /* x*m + 2^(t-1) is an integer below 2^63: exact in a 64-bit
             * significand, and so are the division by 2^t and floorl */
            long double v = floorl(((long double)x * m + ldexpl(1.0L, 30 - shift)) /
                                   ldexpl(1.0L, 31 - shift));
            CHECK_MSG((long double)mnet_requant_apply(x, r) == v, "apply(%d, %d, %d) vs ld", x, m,
                      shift);
        }
    }
    /* edge values: extreme accumulators and multipliers, every shift */
    {
        int32_t xs[] = {INT32_MIN, INT32_MIN + 1, -65536, -3, -2, -1, 0, 1, 2, 3, 65535,
                        INT32_MAX - 1, INT32_MAX};
        int32_t ms[] = {0, 1 << 30, (1 << 30) + 1, INT32_MAX - 1, INT32_MAX};
        for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
            for (size_t j = 0; j < sizeof ms / sizeof ms[0]; j++)
                for (int shift = -31; shift <= 30; shift++) {
                    mnet_requant r = {ms[j], shift};
                    CHECK_MSG(mnet_requant_apply(xs[i], r) == def_requant(xs[i], ms[j], shift),
                              "edge apply(%d, %d, %d)", xs[i], ms[j], shift);
                }
    }
    /* exact ties round half up (toward +infinity) once: x / 16 */
    {
        mnet_requant sixteenth = {1 << 30, -3};
        CHECK(mnet_requant_apply(8, sixteenth) == 1 && mnet_requant_apply(-8, sixteenth) == 0);
        CHECK(mnet_requant_apply(24, sixteenth) == 2 && mnet_requant_apply(-24, sixteenth) == -1);
        CHECK(mnet_requant_apply(7, sixteenth) == 0 && mnet_requant_apply(-9, sixteenth) == -1);
        /* 1 * 0.3125: double rounding (the high multiply rounds 0.625 to 1,
         * the division by 2 rounds 0.5 away to 1) gave 1; rounded once: 0 */
        mnet_requant quarter_ish = {(int32_t)(0.625 * 2147483648.0), -1}; /* 0.3125 */
        CHECK(mnet_requant_apply(1, quarter_ish) == 0 && mnet_requant_apply(5, quarter_ish) == 2);
    }
    /* exact ties: x*M/2^31 = k + 1/2 rounds up, x/2^e = k + 1/2 away from zero */
    CHECK(mnet_srdhm(1, 1 << 30) == 1 && mnet_srdhm(-1, 1 << 30) == 0);
    CHECK(mnet_srdhm(-3, 1 << 30) == -1);
    CHECK(mnet_rounding_divide_by_pot(3, 1) == 2 && mnet_rounding_divide_by_pot(-3, 1) == -2);
    CHECK(mnet_rounding_divide_by_pot(-5, 2) == -1 && mnet_rounding_divide_by_pot(-6, 2) == -2);
    CHECK(mnet_srdhm(INT32_MIN, INT32_MIN) == INT32_MAX);
    /* SaturatingRoundingDoublingHighMul = floor((a*b + 2^30) / 2^31) for all
     * pairs but INT32_MIN * INT32_MIN (the softmax's helpers):
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
     * per-channel multipliers over every shift, any accumulator, at every
     * position parity (the table pairs positions into 64-bit lanes) */
    for (int round = 0; round < 2; round++) {
        enum { CH = 40, PAD = 48 };
        mnet_requant rq[CH];
        for (int c = 0; c < CH; c++) {
            /* round 0: shifts over TFLite's whole range; round 1: only
             * shift < -1 (t >= 33: the kernels' long-shift route) */
            mnet_requant r;
            r.multiplier = (int32_t)((1u << 30) + (uint32_t)(test_rng_next(&rng) % (1u << 30)));
            r.shift = round == 0 ? (c < 4 ? 30 - c : test_rng_int(&rng, -31, 30))
                                 : test_rng_int(&rng, -31, -2);
            if (c == 4 || c == 5) r.shift = c == 4 ? -31 : round == 0 ? -1 : -2;
            if (c == 0 || c == 7) r.multiplier = 0;
            if (c == 1 || c == 6) r.multiplier = INT32_MAX;
            rq[c] = r;
        }
        mnet_q8_conv_params p = {0};
        p.channel_requant = rq;
        int32_t table[MNET_Q8_RQ_ROWS * PAD];
        CHECK(mnet_q8_rqtable_fill(table, PAD, CH, &p) == (round == 0));
        for (int i = 0; i < 1000000; i++) {
            int c = i % PAD;
            int32_t x = random_i32(&rng);
            if (i % 4 == 1) x >>= test_rng_int(&rng, 0, 31);
            if (i % 97 == 0) x = i % 2 ? INT32_MAX : INT32_MIN;
            mnet_requant r = c < CH ? rq[c] : mnet_q8_rqtable_pad();
            CHECK_MSG(mnet_q8_rqtable_apply(x, table, PAD, c) == mnet_requant_apply(x, r),
                      "table apply(%d, %d, %d)", x, r.multiplier, r.shift);
            if (round == 1)
                CHECK_MSG(mnet_q8_rqtable_apply_long(x, table, PAD, c) == mnet_requant_apply(x, r),
                          "table apply_long(%d, %d, %d)", x, r.multiplier, r.shift);
        }
        /* padding positions requantize to 0 */
        CHECK(mnet_q8_rqtable_apply(INT32_MAX, table, PAD, PAD - 1) == 0);
    }
    /* against real arithmetic: the correctly rounded product with the
     * fixed-point multiplier (within 1/2), and within one of the real one */
    for (int i = 0; i < 20000; i++) {
        double real = test_rng_float(&rng, 1e-5f, 0.99f);
        mnet_requant r = mnet_requant_from_real(real);
        int32_t x = (int32_t)(random_i32(&rng) >> 10);
        long double exact = (long double)x * r.multiplier * ldexpl(1.0L, r.shift - 31);
        CHECK(fabsl((long double)mnet_requant_apply(x, r) - exact) <= 0.5L);
        CHECK(fabs((double)mnet_requant_apply(x, r) - (double)x * real) <= 1.0);
    }
    TEST_MAIN_END();
}
