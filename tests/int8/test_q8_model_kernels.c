/* The bundled quantized MobileNets at int8: every kernel set this CPU runs
 * (ISA avx2 / avx512 through the public options) and every thread count
 * give exactly the reference kernels' bits, at the output and at every
 * tap (all intermediate uint8 tensors, dequantized). */
#include <stdlib.h>
#include <string.h>

#include "mnet.h"
#include "test_util.h"

typedef struct run_result {
    float **taps;
    int num_taps;
    int ok;
} run_result;

static run_result run_model(const char *path, const char *isa, int threads, const float *input,
                            size_t n) {
    run_result r = {NULL, 0, 0};
    mnet_options o;
    mnet_options_init(&o);
    o.precision = MNET_PRECISION_INT8;
    o.isa = isa;
    o.threads = threads;
    mnet_model *m = NULL;
    mnet_session *s = NULL;
    mnet_error e;
    if (mnet_model_load(path, &o, &m, &e) != MNET_OK) {
        fprintf(stderr, "%s (%s): %s\n", path, isa, e.message);
        return r;
    }
    int nt = mnet_model_tap_count(m);
    const char **names = calloc((size_t)nt, sizeof *names);
    for (int i = 0; i < nt; i++) names[i] = mnet_model_tap_name(m, i);
    mnet_session_options so = {names, nt};
    if (mnet_session_create(m, &so, &s, &e) != MNET_OK || mnet_run(s, input, n) != MNET_OK) {
        fprintf(stderr, "%s (%s): %s\n", path, isa, e.message);
    } else {
        r.taps = calloc((size_t)nt, sizeof *r.taps);
        r.num_taps = nt;
        r.ok = 1;
        for (int i = 0; i < nt; i++) {
            mnet_tensor t;
            if (mnet_session_tap(s, i, &t) != MNET_OK) {
                r.ok = 0;
                continue;
            }
            size_t count = (size_t)t.height * t.width * t.channels;
            r.taps[i] = malloc(count * sizeof(float) + sizeof(size_t));
            memcpy(r.taps[i], &count, sizeof count);
            memcpy((char *)r.taps[i] + sizeof count, t.data, count * sizeof(float));
        }
    }
    free(names);
    mnet_session_destroy(s);
    mnet_model_destroy(m);
    return r;
}

static void free_result(run_result *r) {
    for (int i = 0; i < r->num_taps; i++) free(r->taps[i]);
    free(r->taps);
}

static int same(const run_result *a, const run_result *b) {
    if (!a->ok || !b->ok || a->num_taps != b->num_taps) return 0;
    for (int i = 0; i < a->num_taps; i++) {
        size_t ca, cb;
        memcpy(&ca, a->taps[i], sizeof ca);
        memcpy(&cb, b->taps[i], sizeof cb);
        if (ca != cb || memcmp(a->taps[i], b->taps[i], sizeof ca + ca * sizeof(float)) != 0)
            return 0;
    }
    return 1;
}

int main(void) {
    const char *src = getenv("MNET_SOURCE_DIR");
    /* uint8 per-tensor (V1, V2) and int8 per-channel (V2 post-training) */
    const char *models[] = {"mobilenet_v2_1.0_224", "mobilenet_v1_1.0_224",
                            "mobilenet_v2_1.0_224_ptq"};
    size_t n = 224 * 224 * 3;
    float *input = malloc(n * sizeof *input);
    test_rng rng = {0x51ed2701u};
    for (size_t i = 0; i < n; i++) input[i] = test_rng_float(&rng, -1.0f, 1.0f);
    int tested = 0;
    for (int mi = 0; mi < 3; mi++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/models/%s.safetensors", src ? src : ".", models[mi]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            printf("%s: not found\n", path);
            continue;
        }
        fclose(f);
        run_result ref = run_model(path, "ref", 1, input, n);
        CHECK_MSG(ref.ok, "%s: reference run failed", models[mi]);
        const char *isas[] = {"ref", "avx2", "avx512"};
        for (int ii = 0; ii < 3; ii++)
            for (int threads = 1; threads <= 3; threads++) {
                if (ii == 0 && threads == 1) continue;
                run_result r = run_model(path, isas[ii], threads, input, n);
                if (!r.ok) {
                    printf("%s: isa %s not available here\n", models[mi], isas[ii]);
                    free_result(&r);
                    continue;
                }
                CHECK_MSG(same(&ref, &r), "%s: isa %s, %d threads differs from ref", models[mi],
                          isas[ii], threads);
                tested++;
                free_result(&r);
            }
        free_result(&ref);
    }
    CHECK_MSG(tested > 0, "no bundled quantized model found under %s/models", src ? src : ".");
    free(input);
    TEST_MAIN_END();
}
