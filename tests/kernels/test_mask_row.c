/* The segmentation mask row kernel (mnet_mask_row): the reference against
 * an independent double-precision oracle, and every x86 table this CPU can
 * run against the reference bit for bit, on random class counts (vector
 * tails, 1 and 256 included), widths and cell maps, with ties, cells whose
 * best classes agree (the shortcut) and NaN logits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "test_util.h"

typedef struct mask_case {
    int classes, cells, width;
    float *top, *bottom;
    unsigned char *best_top, *best_bottom;
    int *x0, *x1;
    float *fx;
    float fy;
} mask_case;

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static unsigned char first_argmax(const float *l, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (l[c] > l[best]) best = c;
    return (unsigned char)best;
}

/* kind 0: plain random; 1: quantized values (many ties); 2: one class
 * dominating every cell (shortcut everywhere); 3: a few NaN. */
static void make_case(test_rng *rng, mask_case *m, int classes, int cells, int width, int kind) {
    m->classes = classes;
    m->cells = cells;
    m->width = width;
    size_t n = (size_t)classes * cells;
    m->top = xmalloc(n * sizeof(float));
    m->bottom = xmalloc(n * sizeof(float));
    test_rng_fill(rng, m->top, n, -4.0f, 4.0f);
    test_rng_fill(rng, m->bottom, n, -4.0f, 4.0f);
    int dominant = test_rng_int(rng, 0, classes - 1);
    for (size_t i = 0; i < n; i++) {
        if (kind == 1) {
            m->top[i] = roundf(m->top[i]);
            m->bottom[i] = roundf(m->bottom[i]);
        }
        if (kind == 2 && (int)(i % (size_t)classes) == dominant) {
            m->top[i] = 9.0f;
            m->bottom[i] = 9.5f;
        }
        if (kind == 3 && test_rng_int(rng, 0, 9) == 0) m->top[i] = NAN;
    }
    m->best_top = xmalloc((size_t)cells);
    m->best_bottom = xmalloc((size_t)cells);
    for (int c = 0; c < cells; c++) {
        m->best_top[c] = first_argmax(m->top + (size_t)c * classes, classes);
        m->best_bottom[c] = first_argmax(m->bottom + (size_t)c * classes, classes);
    }
    m->x0 = xmalloc((size_t)width * sizeof(int));
    m->x1 = xmalloc((size_t)width * sizeof(int));
    m->fx = xmalloc((size_t)width * sizeof(float));
    for (int x = 0; x < width; x++) {
        m->x0[x] = test_rng_int(rng, 0, cells - 1);
        m->x1[x] = m->x0[x] + 1 < cells ? m->x0[x] + test_rng_int(rng, 0, 1) : m->x0[x];
        m->fx[x] = test_rng_int(rng, 0, 7) == 0 ? 0.0f : test_rng_float(rng, 0.0f, 1.0f);
    }
    m->fy = test_rng_int(rng, 0, 5) == 0 ? 0.0f : test_rng_float(rng, 0.0f, 1.0f);
}

static void free_case(mask_case *m) {
    free(m->top);
    free(m->bottom);
    free(m->best_top);
    free(m->best_bottom);
    free(m->x0);
    free(m->x1);
    free(m->fx);
}

static mnet_mask_row row_of(const mask_case *m) {
    mnet_mask_row r = {m->classes, m->width, m->top,  m->bottom, m->best_top,
                       m->best_bottom, m->x0,   m->x1, m->fx,     m->fy};
    return r;
}

/* The reference's class must hold the largest interpolated value (within
 * rounding, computed here in double) unless the four cells agree, where it
 * must be their class. */
static void check_ref_against_oracle(const mask_case *m, const unsigned char *got,
                                     const char *what) {
    for (int x = 0; x < m->width; x++) {
        int c0 = m->x0[x], c1 = m->x1[x];
        unsigned char k = m->best_top[c0];
        if (m->best_top[c1] == k && m->best_bottom[c0] == k && m->best_bottom[c1] == k) {
            CHECK_MSG(got[x] == k, "%s pixel %d: cells agree on %d, got %d", what, x, k, got[x]);
            continue;
        }
        double best = -INFINITY, at_got = NAN;
        for (int c = 0; c < m->classes; c++) {
            const float *a0 = m->top + (size_t)c0 * m->classes, *a1 = m->top + (size_t)c1 * m->classes;
            const float *b0 = m->bottom + (size_t)c0 * m->classes;
            const float *b1 = m->bottom + (size_t)c1 * m->classes;
            double t = a0[c] + ((double)a1[c] - a0[c]) * m->fx[x];
            double u = b0[c] + ((double)b1[c] - b0[c]) * m->fx[x];
            double v = t + (u - t) * m->fy;
            if (v > best) best = v;
            if (c == got[x]) at_got = v;
        }
        CHECK_MSG(got[x] < m->classes, "%s pixel %d: class %d out of range", what, x, got[x]);
        if (best == -INFINITY) {
            CHECK_MSG(got[x] == 0, "%s pixel %d: nothing beats -inf, got %d", what, x, got[x]);
            continue;
        }
        CHECK_MSG(at_got >= best - 1e-5 * (1.0 + fabs(best)),
                  "%s pixel %d: class %d has %g, best is %g", what, x, got[x], at_got, best);
    }
}

int main(void) {
    static const int class_counts[] = {1, 2, 7, 8, 9, 15, 16, 17, 21, 24, 31, 33, 150, 256};
    static const char *const isas[] = {"avx2", "avx512"};
    const mnet_kernels *tables[2];
    for (int i = 0; i < 2; i++) {
        tables[i] = mnet_kernels_select(isas[i]);
        if (!tables[i]) printf("skipping %s: this CPU/OS cannot run it\n", isas[i]);
    }
    CHECK(mnet_kernels_ref.mask_row == mnet_ref_mask_row_f32);
    test_rng rng = {0x5EED5EEDull};
    for (int trial = 0; trial < 400; trial++) {
        int classes = class_counts[trial % (int)(sizeof class_counts / sizeof(int))];
        int cells = test_rng_int(&rng, 1, 20), width = test_rng_int(&rng, 1, 70);
        int kind = test_rng_int(&rng, 0, 3);
        mask_case m;
        make_case(&rng, &m, classes, cells, width, kind);
        mnet_mask_row r = row_of(&m);
        unsigned char *want = xmalloc((size_t)width + 1), *got = xmalloc((size_t)width + 1);
        want[width] = got[width] = 0xAB;
        mnet_ref_mask_row_f32(&r, want);
        char what[96];
        snprintf(what, sizeof what, "ref classes %d cells %d width %d kind %d", classes, cells,
                 width, kind);
        if (kind != 3) check_ref_against_oracle(&m, want, what);
        CHECK_MSG(want[width] == 0xAB, "%s wrote past the row", what);
        for (int i = 0; i < 2; i++) {
            if (!tables[i]) continue;
            memset(got, 0xCD, (size_t)width);
            tables[i]->mask_row(&r, got);
            CHECK_MSG(memcmp(got, want, (size_t)width) == 0,
                      "%s mask_row differs from ref: classes %d cells %d width %d kind %d",
                      isas[i], classes, cells, width, kind);
            CHECK_MSG(got[width] == 0xAB, "%s mask_row wrote past the row", isas[i]);
        }
        free(want);
        free(got);
        free_case(&m);
    }
    TEST_MAIN_END();
}
