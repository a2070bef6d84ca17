/* GOP/s of every uint8 kernel table this CPU runs on MobileNet-like layer
 * shapes (minimum of 30 calls each, one thread), and the register-only
 * vpdpbusd peak for comparison. Internal tool: links the static library and
 * its internal headers.
 *   cc -O2 -Iinclude -Isrc bench/tools/q8_kernel_bench.c <build>/libmnet.a -lm -lpthread */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "int8/q8_kernels.h"
#include "int8/q8_x86.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static mnet_q8_conv_params params(void) {
    return mnet_q8_conv_params_init(0.02f, 128, 0.01f, 120, 0.05f, 10, MNET_ACT_RELU6);
}

static void bench_pointwise(const mnet_q8_kernels *k, int in_c, int out_c, int pixels) {
    mnet_q8_conv_params p = params();
    uint8_t *in = malloc((size_t)pixels * in_c), *w = malloc((size_t)in_c * out_c);
    uint8_t *out = malloc((size_t)pixels * out_c);
    int32_t *bias = calloc((size_t)out_c + 64, 4), *pb = malloc(((size_t)out_c + 64) * 4);
    void *packed = malloc(k->pointwise_pack_bytes(in_c, out_c));
    for (size_t i = 0; i < (size_t)pixels * in_c; i++) in[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < (size_t)in_c * out_c; i++) w[i] = (uint8_t)(i * 13);
    k->pointwise_pack(in_c, out_c, &p, w, bias, packed, pb);
    double best = 1e9;
    for (int r = 0; r < 30; r++) {
        double t0 = now_s();
        k->pointwise(in_c, out_c, &p, in, packed, pb, out, 0, pixels);
        double t = now_s() - t0;
        if (t < best) best = t;
    }
    printf("%-11s pointwise %4d -> %4d x %5d px   %7.1f GOP/s\n", k->isa, in_c, out_c, pixels,
           2.0 * in_c * out_c * pixels / best / 1e9);
    free(in), free(w), free(out), free(bias), free(pb), free(packed);
}

static void bench_depthwise(const mnet_q8_kernels *k, int side, int c, int stride) {
    mnet_conv_geometry g;
    mnet_conv_geometry_init(&g, side, side, c, c, 3, stride, 1, c, MNET_PAD_TF_SAME);
    mnet_q8_conv_params p = params();
    size_t nin = (size_t)side * side * c, nout = (size_t)g.out_h * g.out_w * c;
    uint8_t *in = malloc(nin), *w = malloc((size_t)9 * c), *out = malloc(nout);
    int32_t *bias = calloc((size_t)c + 64, 4), *pb = malloc(((size_t)c + 64) * 4);
    void *packed = malloc(k->depthwise_pack_bytes(&g));
    for (size_t i = 0; i < nin; i++) in[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 9 * c; i++) w[i] = (uint8_t)(i * 13);
    k->depthwise_pack(&g, &p, w, bias, packed, pb);
    double best = 1e9;
    for (int r = 0; r < 30; r++) {
        double t0 = now_s();
        k->depthwise(&g, &p, in, packed, pb, out, 0, g.out_h);
        double t = now_s() - t0;
        if (t < best) best = t;
    }
    printf("%-11s depthwise 3x3 s%d %3dx%3dx%4d      %7.1f GOP/s\n", k->isa, stride, side, side, c,
           2.0 * 9 * nout / best / 1e9);
    free(in), free(w), free(out), free(bias), free(pb), free(packed);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
/* 12 independent vpdpbusd chains in registers: the instruction's throughput. */
#define PEAK_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double vnni512_peak(void) {
#define DECL(i) __m512i a##i = _mm512_set1_epi32(i);
#define STEP(i) __asm__("vpdpbusd %2, %1, %0" : "+v"(a##i) : "v"(x), "v"(w));
#define SUM(i) s = _mm512_add_epi32(s, a##i);
    PEAK_CHAINS(DECL)
    __m512i x = _mm512_set1_epi8(3), w = _mm512_set1_epi8(5), s = _mm512_setzero_si512();
    long n = 200000;
    double t = 1e9; /* best of 30 short runs: robust to a shared machine */
    for (int r = 0; r < 30; r++) {
        double t0 = now_s();
        for (long k = 0; k < n; k++) {
            PEAK_CHAINS(STEP)
        }
        double dt = now_s() - t0;
        if (dt < t) t = dt;
    }
    PEAK_CHAINS(SUM)
    volatile int sink = _mm512_reduce_add_epi32(s);
    (void)sink;
    return (double)n * 12 * 64 * 2 / t / 1e9;
#undef DECL
#undef STEP
#undef SUM
}
#endif

int main(void) {
    const mnet_q8_kernels *sets[8];
    int n = mnet_q8_kernels_available(sets, 8);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (sets[0] == &mnet_q8_kernels_avx512vnni)
        printf("512-bit vpdpbusd peak (register-only loop): %.0f GOP/s\n", vnni512_peak());
#endif
    for (int i = 0; i < n; i++) {
        const mnet_q8_kernels *k = sets[i];
        if (!k->pointwise) continue; /* the reference */
        bench_pointwise(k, 512, 512, 196);
        bench_pointwise(k, 256, 256, 784);
        bench_pointwise(k, 16, 96, 3136);
        bench_pointwise(k, 144, 24, 3136);
        bench_depthwise(k, 56, 128, 1);
        bench_depthwise(k, 14, 576, 1);
        bench_depthwise(k, 112, 32, 1);
        bench_depthwise(k, 112, 96, 2);
    }
    return 0;
}
