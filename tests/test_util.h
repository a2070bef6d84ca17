/* Minimal test harness shared by the C tests: CHECK records a failure and
 * goes on; TEST_MAIN prints "N passed, M failed" and sets the exit code. */
#ifndef MNET_TEST_UTIL_H
#define MNET_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                          \
    do {                                                                     \
        test_checks++;                                                       \
        if (!(cond)) {                                                       \
            test_failures++;                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
        }                                                                    \
    } while (0)

#define CHECK_MSG(cond, ...)                                                 \
    do {                                                                     \
        test_checks++;                                                       \
        if (!(cond)) {                                                       \
            test_failures++;                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, \
                    #cond);                                                  \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

/* Deterministic xorshift generator so failures reproduce. */
typedef struct test_rng {
    uint64_t s;
} test_rng;

static inline uint64_t test_rng_next(test_rng *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}
/* Uniform in [lo, hi). */
static inline float test_rng_float(test_rng *r, float lo, float hi) {
    return lo + (hi - lo) * (float)((test_rng_next(r) >> 40) * (1.0 / 16777216.0));
}
/* Uniform integer in [lo, hi]. */
static inline int test_rng_int(test_rng *r, int lo, int hi) {
    return lo + (int)(test_rng_next(r) % (uint64_t)(hi - lo + 1));
}
static inline void test_rng_fill(test_rng *r, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = test_rng_float(r, lo, hi);
}

/* Max |a-b| / (|b| + abs_floor) over n values. */
static inline double test_max_rel_err(const float *a, const float *b, size_t n, double abs_floor) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]) / (fabs((double)b[i]) + abs_floor);
        if (e > worst || e != e) worst = (e != e) ? INFINITY : e;
    }
    return worst;
}

/* s[0..length) as a JSON string literal (quotes, escapes) at out, followed
 * by a NUL; out needs 6 * length + 3 chars. Returns the characters written
 * before the NUL. For building model files' metadata in tests. */
static inline size_t test_json_string(char *out, const char *s, size_t length) {
    size_t n = 0;
    out[n++] = '"';
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, 7, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n++] = '"';
    out[n] = '\0';
    return n;
}

#define TEST_MAIN_END()                                                         \
    do {                                                                        \
        printf("%d passed, %d failed\n", test_checks - test_failures,           \
               test_failures);                                                  \
        return test_failures ? 1 : 0;                                           \
    } while (0)

#endif
