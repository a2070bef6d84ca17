/* uint8 softmax (src/int8/q8_softmax.c):
 * - the fixed-point kernel against a straightforward 64-bit implementation of
 *   TFLite's reference arithmetic (constants derived here from exp() and
 *   fractions, rounding from q8_test_defs.h), bit for bit on random rows;
 * - both kernels against the real softmax (double): the float one is the
 *   rounded real value except within float error of a half step, the fixed
 *   one within a step;
 * - rows whose answer is known exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "int8/q8_softmax.h"
#include "q8_test_defs.h"
#include "test_util.h"

/* ---- oracle: TFLite's uint8 softmax, value by value in int64 ---- */

static int64_t fixed_constant(double value, int fraction_bits) {
    return llround(value * ldexp(1.0, fraction_bits));
}

static int64_t saturate_i32(int64_t v) {
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
}

typedef struct oracle_params {
    int64_t multiplier;
    int left_shift;
    int64_t diff_min;
} oracle_params;

static oracle_params oracle_params_of(float scale, float beta) {
    oracle_params o;
    double real = fmin((double)beta * (double)scale * ldexp(1.0, 26), 2147483647.0);
    int e = (int)floor(log2(real)) + 1; /* real = m * 2^e, m in [0.5, 1) */
    if (ldexp(1.0, e - 1) > real) e--;
    if (ldexp(1.0, e) <= real) e++;
    int64_t m = llround(real / ldexp(1.0, e) * ldexp(1.0, 31));
    if (m == ((int64_t)1 << 31)) {
        m >>= 1;
        e++;
    }
    o.multiplier = m;
    o.left_shift = e;
    o.diff_min = -(int64_t)floor(31.0 * ldexp(1.0, 26 - e));
    return o;
}

/* exp on [-1/4, 0) in Q0.31 */
static int64_t oracle_exp_quarter(int64_t a) {
    int64_t c = fixed_constant(exp(-1.0 / 8.0), 31), third = fixed_constant(1.0 / 3.0, 31);
    int64_t x = a + fixed_constant(1.0 / 8.0, 31);
    int64_t x2 = def_high_mul((int32_t)x, (int32_t)x);
    int64_t x3 = def_high_mul((int32_t)x2, (int32_t)x);
    int64_t x4 = def_high_mul((int32_t)x2, (int32_t)x2);
    int64_t inner = def_high_mul((int32_t)(def_div_pot(x4, 2) + x3), (int32_t)third) + x2;
    return c + def_high_mul((int32_t)c, (int32_t)(x + def_div_pot(inner, 1)));
}

/* exp(a) in Q0.31 for a <= 0 in Q5.26 */
static int64_t oracle_exp(int64_t a) {
    if (a == 0) return INT32_MAX;
    int64_t quarter = (int64_t)1 << 24;
    int64_t below = a - def_floor_div(a, quarter) * quarter; /* a mod 1/4, in [0, 1/4) */
    int64_t in_interval = below - quarter;                   /* in [-1/4, 0) */
    int64_t quarters = (in_interval - a) / quarter;          /* whole quarters left */
    int64_t r = oracle_exp_quarter(saturate_i32(in_interval * 32));
    for (int k = 0; k < 7; k++)
        if ((quarters >> k) & 1)
            r = def_high_mul((int32_t)r, (int32_t)fixed_constant(exp(-ldexp(1.0, k - 2)), 31));
    return r;
}

/* 1 / (1 + x), x in [0, 1) as Q0.31, by Newton-Raphson in Q2.29 */
static int64_t oracle_reciprocal(int64_t x) {
    int64_t s = x + INT32_MAX;
    int64_t d = (s + 1) / 2; /* s >= 0 here */
    int64_t r = fixed_constant(48.0 / 17.0, 29) +
                def_high_mul((int32_t)d, (int32_t)fixed_constant(-32.0 / 17.0, 29));
    for (int i = 0; i < 3; i++) {
        int64_t e = fixed_constant(1.0, 29) - def_high_mul((int32_t)d, (int32_t)r);
        r += saturate_i32(def_high_mul((int32_t)r, (int32_t)e) * 4);
    }
    return saturate_i32(r * 2);
}

static void oracle_softmax(float scale, float beta, const uint8_t *in, size_t n, uint8_t *out) {
    oracle_params o = oracle_params_of(scale, beta);
    int max = 0;
    for (size_t i = 0; i < n; i++) max = in[i] > max ? in[i] : max;
    int64_t sum = 0;
    int64_t *e = malloc(n * sizeof *e);
    for (size_t i = 0; i < n; i++) {
        int64_t diff = (int64_t)in[i] - max;
        e[i] = -1;
        if (diff < o.diff_min) continue;
        e[i] = oracle_exp(def_high_mul((int32_t)(diff * ((int64_t)1 << o.left_shift)),
                                       (int32_t)o.multiplier));
        sum += def_div_pot(e[i], 12);
    }
    int bits = 0; /* sum = (1 + f) * 2^bits in Q12.19 */
    while ((sum >> (19 + bits)) >= 2) bits++;
    int64_t f = (sum << (12 - bits)) - ((int64_t)1 << 31);
    int64_t scale_q = oracle_reciprocal(f);
    for (size_t i = 0; i < n; i++) {
        int64_t v = 0;
        if (e[i] >= 0 && bits + 23 <= 31)
            v = def_div_pot(def_high_mul((int32_t)scale_q, (int32_t)e[i]), bits + 23);
        out[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    free(e);
}

/* ---- helpers ---- */

static void real_softmax(float scale, int zp, float beta, const uint8_t *in, size_t n,
                         double *p) {
    double max = -1e300, sum = 0;
    for (size_t i = 0; i < n; i++) max = fmax(max, (double)scale * ((int)in[i] - zp));
    for (size_t i = 0; i < n; i++) sum += p[i] = exp(((double)scale * ((int)in[i] - zp) - max) * beta);
    for (size_t i = 0; i < n; i++) p[i] /= sum;
}

/* The float softmax element by element, as Arm NN computes it (and as
 * mnet_q8_softmax_float did before it worked per byte value): the fast
 * version must give these exact bytes. */
static float direct_dequantize(const mnet_q8_softmax_params *p, uint8_t q) {
    return p->input_scale * ((float)q - (float)p->input_zero_point);
}

static void direct_float_softmax(const mnet_q8_softmax_params *p, const uint8_t *in, size_t n,
                                 uint8_t *out) {
    float max = direct_dequantize(p, in[0]);
    for (size_t i = 1; i < n; i++)
        if (direct_dequantize(p, in[i]) > max) max = direct_dequantize(p, in[i]);
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) sum += expf((direct_dequantize(p, in[i]) - max) * p->beta);
    for (size_t i = 0; i < n; i++) {
        float probability = expf((direct_dequantize(p, in[i]) - max) * p->beta) / sum;
        float steps = roundf(probability / (1.0f / 256.0f));
        out[i] = (uint8_t)(steps < 0.0f ? 0.0f : steps > 255.0f ? 255.0f : steps);
    }
}

static void random_row(test_rng *rng, uint8_t *row, size_t n) {
    int kind = test_rng_int(rng, 0, 3);
    int lo = kind == 0 ? 0 : test_rng_int(rng, 0, 250);
    int hi = kind == 3 ? lo + test_rng_int(rng, 0, 5) : 255; /* kind 3: many ties */
    if (hi > 255) hi = 255;
    for (size_t i = 0; i < n; i++) row[i] = (uint8_t)test_rng_int(rng, lo, hi);
    if (kind == 2) /* a few clear winners over a low floor */
        for (int k = 0; k < 3; k++) row[test_rng_int(rng, 0, (int)n - 1)] = 255;
}

int main(void) {
    test_rng rng = {0x5eed50f7ba11ull};
    enum { MAX_N = MNET_Q8_SOFTMAX_MAX_ROW };
    uint8_t *in = malloc(MAX_N), *fixed = malloc(MAX_N), *expect = malloc(MAX_N),
            *flt = malloc(MAX_N), *direct = malloc(MAX_N);
    double *p = malloc(MAX_N * sizeof *p);
    CHECK(in && fixed && expect && flt && direct && p);
    (void)def_requant; /* q8_test_defs.h's conv requantization: not used here */

    /* parameters */
    for (int i = 0; i < 5000; i++) {
        float mantissa = test_rng_float(&rng, 0.5f, 1.0f); /* one call a statement: */
        float scale = ldexpf(mantissa, test_rng_int(&rng, -12, 3)); /* argument order varies */
        float beta = i % 3 ? 1.0f : test_rng_float(&rng, 0.25f, 4.0f);
        mnet_q8_softmax_params sp;
        CHECK(mnet_q8_softmax_params_init(scale, 128, beta, &sp) == 0);
        oracle_params o = oracle_params_of(scale, beta);
        CHECK_MSG(sp.input_multiplier == o.multiplier && sp.input_left_shift == o.left_shift &&
                      sp.diff_min == o.diff_min,
                  "scale %g beta %g: %d %d %d vs %lld %d %lld", (double)scale, (double)beta,
                  sp.input_multiplier, sp.input_left_shift, sp.diff_min,
                  (long long)o.multiplier, o.left_shift, (long long)o.diff_min);
    }
    mnet_q8_softmax_params bad;
    CHECK(mnet_q8_softmax_params_init(0.0f, 0, 1.0f, &bad) != 0);
    CHECK(mnet_q8_softmax_params_init(1e-9f, 0, 1.0f, &bad) != 0);
    CHECK(mnet_q8_softmax_params_init(NAN, 0, 1.0f, &bad) != 0);

    /* random rows: fixed == oracle; both near the real softmax */
    long values = 0, fixed_off_by_one = 0, float_checked = 0;
    for (int t = 0; t < 3000; t++) {
        size_t n = t % 50 == 0 ? (size_t)MAX_N : (size_t)test_rng_int(&rng, 1, 1001);
        float mantissa = test_rng_float(&rng, 0.5f, 1.0f);
        float scale = ldexpf(mantissa, test_rng_int(&rng, -8, -1));
        int zp = test_rng_int(&rng, 0, 255);
        float beta = t % 4 ? 1.0f : test_rng_float(&rng, 0.5f, 2.0f);
        random_row(&rng, in, n);
        mnet_q8_softmax_params sp;
        CHECK(mnet_q8_softmax_params_init(scale, zp, beta, &sp) == 0);
        mnet_q8_softmax_fixed(&sp, in, n, fixed);
        mnet_q8_softmax_float(&sp, in, n, flt);
        oracle_softmax(scale, beta, in, n, expect);
        real_softmax(scale, zp, beta, in, n, p);
        direct_float_softmax(&sp, in, n, direct);
        CHECK_MSG(memcmp(flt, direct, n) == 0, "row %d n %zu: float softmax differs from the "
                  "element-by-element formula", t, n);
        for (size_t i = 0; i < n; i++) {
            CHECK_MSG(fixed[i] == expect[i], "row %d n %zu i %zu: fixed %d oracle %d", t, n, i,
                      fixed[i], expect[i]);
            double steps = p[i] * 256.0;
            double rounded = fmin(floor(steps + 0.5), 255.0);
            CHECK_MSG(fabs((double)fixed[i] - rounded) <= 1.0, "fixed %d real %.4f", fixed[i],
                      steps);
            fixed_off_by_one += fixed[i] != rounded;
            double frac = steps - floor(steps);
            if (fabs(frac - 0.5) > 1e-3) { /* clear of float error at a half step */
                float_checked++;
                CHECK_MSG(flt[i] == rounded, "row %d i %zu: float %d real %.6f", t, i, flt[i],
                          steps);
            }
            values++;
        }
    }
    printf("%ld values: fixed point off the rounded real softmax by one on %ld, float checked "
           "on %ld\n", values, fixed_off_by_one, float_checked);
    CHECK(float_checked > values * 9 / 10);

    /* known rows: one value -> 255 (1.0 saturates); four equal -> 64 */
    mnet_q8_softmax_params sp;
    CHECK(mnet_q8_softmax_params_init(0.1f, 10, 1.0f, &sp) == 0);
    in[0] = 77;
    mnet_q8_softmax_fixed(&sp, in, 1, fixed);
    mnet_q8_softmax_float(&sp, in, 1, flt);
    CHECK(fixed[0] == 255 && flt[0] == 255);
    memset(in, 200, 4);
    mnet_q8_softmax_fixed(&sp, in, 4, fixed);
    mnet_q8_softmax_float(&sp, in, 4, flt);
    for (int i = 0; i < 4; i++) CHECK(fixed[i] == 64 && flt[i] == 64);
    /* 300 equal maxima: 256/300 rounds to 1; 600: below half a step, 0 (the
     * fixed-point sum is then >= 512, where TFLite's shift is undefined) */
    memset(in, 9, 600);
    mnet_q8_softmax_fixed(&sp, in, 300, fixed);
    mnet_q8_softmax_float(&sp, in, 300, flt);
    for (int i = 0; i < 300; i++) CHECK(fixed[i] == 1 && flt[i] == 1);
    mnet_q8_softmax_fixed(&sp, in, 600, fixed);
    mnet_q8_softmax_float(&sp, in, 600, flt);
    for (int i = 0; i < 600; i++) CHECK(fixed[i] == 0 && flt[i] == 0);

    free(in);
    free(fixed);
    free(expect);
    free(flt);
    free(direct);
    free(p);
    TEST_MAIN_END();
}
