/* The bundled quantized models at int8: every kernel set this CPU runs
 * (ISA avx2 / avx512 through the public options) and every thread count
 * give exactly the reference kernels' bits, at the output and at every
 * tap (all intermediate uint8 tensors, dequantized). Taps are compared by a
 * 64-bit hash of their bytes (DeepLab's would take hundreds of MB). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mnet.h"
#include "test_util.h"

typedef struct run_result {
    uint64_t *hashes; /* per tap: FNV-1a of its floats' bytes */
    size_t *counts;
    int num_taps;
    int ok;
} run_result;

static uint64_t fnv1a(const void *data, size_t bytes) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static run_result run_model(const char *path, const char *isa, int threads, const float *input,
                            size_t n) {
    run_result r = {NULL, NULL, 0, 0};
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
        r.hashes = calloc((size_t)nt, sizeof *r.hashes);
        r.counts = calloc((size_t)nt, sizeof *r.counts);
        r.num_taps = nt;
        r.ok = r.hashes && r.counts;
        for (int i = 0; i < nt && r.ok; i++) {
            mnet_tensor t;
            if (mnet_session_tap(s, i, &t) != MNET_OK) {
                r.ok = 0;
                continue;
            }
            r.counts[i] = (size_t)t.height * t.width * t.channels;
            r.hashes[i] = fnv1a(t.data, r.counts[i] * sizeof(float));
        }
    }
    free(names);
    mnet_session_destroy(s);
    mnet_model_destroy(m);
    return r;
}

static void free_result(run_result *r) {
    free(r->hashes);
    free(r->counts);
}

static int same(const run_result *a, const run_result *b) {
    if (!a->ok || !b->ok || a->num_taps != b->num_taps) return 0;
    for (int i = 0; i < a->num_taps; i++)
        if (a->counts[i] != b->counts[i] || a->hashes[i] != b->hashes[i]) return 0;
    return 1;
}

int main(void) {
    const char *src = getenv("MNET_SOURCE_DIR");
    /* uint8 per-tensor (V1, V2, the detectors and segmenters) and int8 per
     * channel (V2 post-training); the large ones on fewer thread counts and
     * without multi-threaded reference runs, to keep the test short */
    static const struct {
        const char *name;
        int size, max_threads, ref_threads;
    } models[] = {
        {"mobilenet_v2_1.0_224", 224, 3, 3},       {"mobilenet_v1_1.0_224", 224, 3, 3},
        {"mobilenet_v2_1.0_224_ptq", 224, 3, 3},   {"ssd_mobilenet_v1_coco", 300, 2, 1},
        {"ssd_mobilenet_v2_coco", 300, 2, 1},      {"deeplabv3_mnv2_dm0.5_pascal", 513, 2, 1},
        {"deeplabv3_mnv2_dm1.0_pascal", 513, 2, 1},
    };
    test_rng rng = {0x51ed2701u};
    int tested = 0;
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/models/%s.safetensors", src ? src : ".",
                 models[mi].name);
        FILE *f = fopen(path, "rb");
        if (!f) {
            printf("%s: not found\n", path);
            continue;
        }
        fclose(f);
        size_t n = (size_t)models[mi].size * models[mi].size * 3;
        float *input = malloc(n * sizeof *input);
        for (size_t i = 0; i < n; i++) input[i] = test_rng_float(&rng, -1.0f, 1.0f);
        run_result ref = run_model(path, "ref", 1, input, n);
        CHECK_MSG(ref.ok, "%s: reference run failed", models[mi].name);
        const char *isas[] = {"ref", "avx2", "avx512"};
        for (int ii = 0; ii < 3; ii++) {
            int max_threads = ii == 0 ? models[mi].ref_threads : models[mi].max_threads;
            for (int threads = ii == 0 ? 2 : 1; threads <= max_threads; threads++) {
                run_result r = run_model(path, isas[ii], threads, input, n);
                if (!r.ok) {
                    printf("%s: isa %s not available here\n", models[mi].name, isas[ii]);
                    free_result(&r);
                    continue;
                }
                CHECK_MSG(same(&ref, &r), "%s: isa %s, %d threads differs from ref",
                          models[mi].name, isas[ii], threads);
                tested++;
                free_result(&r);
            }
        }
        free_result(&ref);
        free(input);
    }
    printf("%d runs matched the reference bit for bit\n", tested);
    CHECK_MSG(tested > 0, "no bundled quantized model found under %s/models", src ? src : ".");
    TEST_MAIN_END();
}
