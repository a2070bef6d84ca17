#define _XOPEN_SOURCE 700
/* Model loading and the plan wiring: synthetic MobileNet V1/V2 files with
 * random weights run through the public API and are compared with a forward
 * pass written here layer by layer from the file's tensors (the wiring is
 * independent of src/models; the per-layer arithmetic is the reference
 * kernel). Then every way a model file can be wrong, one at a time. */
#include <string.h>
#include <unistd.h>

#include "kernels/ref/ref_kernels.h"
#include "mnet.h"
#include "synth_model.h"
#include "test_util.h"

static char tmpdir[256];

static const char *tmp_path(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

/* out = conv(in) with the synth tensors <prefix>.weight/.bias */
static float *ref_conv(synth_model *m, const char *prefix, const float *in, int *h, int *w,
                       int *c, int out_c, int k, int stride, int groups, mnet_activation act,
                       mnet_padding pad) {
    char name[80];
    snprintf(name, sizeof name, "%s.weight", prefix);
    synth_tensor *wt = synth_find(m, name);
    snprintf(name, sizeof name, "%s.bias", prefix);
    synth_tensor *bt = synth_find(m, name);
    mnet_conv_geometry g;
    CHECK(mnet_conv_geometry_init(&g, *h, *w, *c, out_c, k, stride, 1, groups, pad) == 0);
    float *out = malloc((size_t)g.out_h * g.out_w * out_c * sizeof(float));
    mnet_ref_conv2d_f32(&g, in, wt->data, bt->data, act, out);
    *h = g.out_h;
    *w = g.out_w;
    *c = out_c;
    return out;
}

/* The classifier head of the reference forward passes: global average
 * pooling of the h x w x c features (freed here), then the FC. */
static float *ref_classifier(synth_model *m, float *features, int h, int w, int c) {
    float *pooled = malloc((size_t)c * sizeof(float));
    mnet_ref_global_avgpool_f32(h, w, c, features, pooled);
    float *logits = malloc((size_t)m->classes * sizeof(float));
    mnet_ref_fully_connected_f32(c, m->classes, pooled, synth_find(m, "classifier.weight")->data,
                                 synth_find(m, "classifier.bias")->data, MNET_ACT_NONE, logits);
    free(features);
    free(pooled);
    return logits;
}

static float *forward_v1(synth_model *m, const float *input) {
    mnet_padding pad = MNET_PAD_TF_SAME;
    int h = m->h, w = m->w, c = 3;
    float *x = ref_conv(m, "conv0", input, &h, &w, &c, synth_v1_ch(m->dm, 32), 3, 2, 1,
                        MNET_ACT_RELU6, pad);
    for (int i = 0; i < 13; i++) {
        char p[64];
        snprintf(p, sizeof p, "blocks.%d.dw", i);
        float *y = ref_conv(m, p, x, &h, &w, &c, c, 3, synth_v1_strides[i], c, MNET_ACT_RELU6, pad);
        free(x);
        snprintf(p, sizeof p, "blocks.%d.pw", i);
        x = ref_conv(m, p, y, &h, &w, &c, synth_v1_ch(m->dm, synth_v1_widths[i]), 1, 1, 1,
                     MNET_ACT_RELU6, pad);
        free(y);
    }
    return ref_classifier(m, x, h, w, c);
}

static float *forward_v2(synth_model *m, const float *input) {
    mnet_padding pad = MNET_PAD_SYMMETRIC;
    int h = m->h, w = m->w, c = 3;
    float *x = ref_conv(m, "conv0", input, &h, &w, &c, synth_make_divisible(32 * m->dm, 8), 3, 2,
                        1, MNET_ACT_RELU6, pad);
    int block = 0;
    for (int s = 0; s < 7; s++) {
        int out = synth_make_divisible(synth_v2_stages[s].c * m->dm, 8);
        for (int r = 0; r < synth_v2_stages[s].n; r++, block++) {
            int stride = r == 0 ? synth_v2_stages[s].s : 1;
            int in_h = h, in_w = w, in_c = c;
            char p[64];
            float *e = x;
            if (synth_v2_stages[s].t != 1) {
                snprintf(p, sizeof p, "blocks.%d.expand", block);
                e = ref_conv(m, p, x, &h, &w, &c, synth_make_divisible((float)(c * 6), 8), 1, 1,
                             1, MNET_ACT_RELU6, pad);
            }
            snprintf(p, sizeof p, "blocks.%d.dw", block);
            float *d = ref_conv(m, p, e, &h, &w, &c, c, 3, stride, c, MNET_ACT_RELU6, pad);
            if (e != x) free(e);
            snprintf(p, sizeof p, "blocks.%d.project", block);
            float *y = ref_conv(m, p, d, &h, &w, &c, out, 1, 1, 1, MNET_ACT_NONE, pad);
            free(d);
            if (stride == 1 && in_c == out && in_h == h && in_w == w)
                mnet_ref_add_f32((size_t)h * w * c, y, x, MNET_ACT_NONE, y);
            free(x);
            x = y;
        }
    }
    float *last = ref_conv(m, "conv_last", x, &h, &w, &c, synth_v2_last(m->dm), 1, 1, 1,
                           MNET_ACT_RELU6, pad);
    free(x);
    return ref_classifier(m, last, h, w, c);
}

/* The graph mnet_model_plan_step describes: every step reads the model
 * input or earlier steps' outputs; residual adds name an earlier output of
 * the same shape; steps with weights name tensors that exist in the file. */
static void check_plan_graph(const mnet_model *model, const synth_model *m, const char *file) {
    int steps = mnet_model_plan_size(model), residuals = 0, weighted = 0;
    for (int i = 0; i < steps; i++) {
        mnet_plan_step s;
        CHECK(mnet_model_plan_step(model, i, &s) == MNET_OK);
        CHECK(s.num_inputs >= 1 && s.num_inputs <= MNET_PLAN_STEP_MAX_INPUTS);
        for (int k = 0; k < s.num_inputs; k++) {
            int found = strcmp(s.inputs[k], "input") == 0 && i == 0;
            for (int j = 0; j < i && !found; j++) {
                mnet_plan_step e;
                CHECK(mnet_model_plan_step(model, j, &e) == MNET_OK);
                found = strcmp(e.name, s.inputs[k]) == 0 &&
                        (strcmp(s.op, "concat") == 0 || e.out_c == s.in_c);
            }
            CHECK_MSG(found, "%s: step %s reads '%s', not an earlier output", file, s.name,
                      s.inputs[k]);
        }
        if (s.residual) {
            residuals++;
            int found = 0;
            for (int j = 0; j < i && !found; j++) {
                mnet_plan_step e;
                CHECK(mnet_model_plan_step(model, j, &e) == MNET_OK);
                found = strcmp(e.name, s.residual) == 0 && e.out_c == s.out_c &&
                        e.out_h == s.out_h && e.out_w == s.out_w;
            }
            CHECK_MSG(found, "%s: step %s adds '%s'", file, s.name, s.residual);
        }
        if (s.weights) {
            weighted++;
            char name[96];
            snprintf(name, sizeof name, "%s.weight", s.weights);
            int found = 0;
            for (int t = 0; t < m->n && !found; t++) found = strcmp(m->t[t].name, name) == 0;
            CHECK_MSG(found, "%s: step %s: no tensor %s", file, s.name, name);
        } else {
            CHECK(s.parameters == 0);
        }
    }
    CHECK(weighted > 10);
    CHECK((residuals > 0) == (strcmp(m->arch, "mobilenet_v2") == 0));
}

static void check_network(synth_model *m, test_rng *rng, const char *file) {
    CHECK(synth_write(m, tmp_path(file), NULL) == 0);
    mnet_model *model = NULL;
    mnet_error err;
    mnet_status st = mnet_model_load(tmp_path(file), NULL, &model, &err);
    CHECK_MSG(st == MNET_OK, "%s", err.message);
    if (st != MNET_OK) return;
    mnet_session *s = NULL;
    CHECK(mnet_session_create(model, NULL, &s, &err) == MNET_OK);
    size_t n = (size_t)m->h * m->w * 3;
    float *input = malloc(n * sizeof(float));
    test_rng_fill(rng, input, n, -1, 1);
    CHECK(mnet_run(s, input, n) == MNET_OK);
    mnet_tensor out;
    CHECK(mnet_output(s, 0, &out) == MNET_OK);
    CHECK(out.channels == m->classes && out.height == 1 && out.width == 1);
    float *want = strcmp(m->arch, "mobilenet_v1") == 0 ? forward_v1(m, input) : forward_v2(m, input);
    double err_rel = test_max_rel_err(out.data, want, (size_t)m->classes, 1e-3);
    CHECK_MSG(err_rel < 1e-4, "%s: max relative error %g", file, err_rel);

    /* A second session on the same model gives the same bits. */
    mnet_session *s2 = NULL;
    CHECK(mnet_session_create(model, NULL, &s2, &err) == MNET_OK);
    CHECK(mnet_run(s2, input, n) == MNET_OK);
    mnet_tensor out2;
    CHECK(mnet_output(s2, 0, &out2) == MNET_OK);
    CHECK(memcmp(out.data, out2.data, (size_t)m->classes * sizeof(float)) == 0);

    /* Any thread count gives the same bits as one thread. */
    for (int threads = 1; threads <= 3; threads++) {
        mnet_options opt;
        mnet_options_init(&opt);
        opt.threads = threads;
        mnet_model *mt = NULL;
        mnet_session *st_threads = NULL;
        CHECK(mnet_model_load(tmp_path(file), &opt, &mt, &err) == MNET_OK);
        CHECK(mnet_session_create(mt, NULL, &st_threads, &err) == MNET_OK);
        for (int rep = 0; rep < 3 && st_threads; rep++) {
            CHECK(mnet_run(st_threads, input, n) == MNET_OK);
            mnet_tensor o;
            CHECK(mnet_output(st_threads, 0, &o) == MNET_OK);
            CHECK_MSG(memcmp(o.data, out.data, (size_t)m->classes * sizeof(float)) == 0,
                      "%s: %d threads differ", file, threads);
        }
        mnet_session_destroy(st_threads);
        mnet_model_destroy(mt);
    }

    check_plan_graph(model, m, file);
    mnet_model_info info;
    CHECK(mnet_model_get_info(model, &info) == MNET_OK);
    int64_t params = 0;
    for (int i = 0; i < m->n; i++) params += m->t[i].count;
    CHECK_MSG(info.parameters == params, "parameters %lld vs %lld", (long long)info.parameters,
              (long long)params);
    free(want);
    free(input);
    mnet_session_destroy(s);
    mnet_session_destroy(s2);
    mnet_model_destroy(model);
}

static void expect_load_error(const char *path, mnet_status want, const char *needle) {
    mnet_model *model = (mnet_model *)1;
    mnet_error err;
    mnet_status st = mnet_model_load(path, NULL, &model, &err);
    CHECK_MSG(st == want, "%s: status %s, want %s (%s)", path, mnet_status_string(st),
              mnet_status_string(want), err.message);
    CHECK(model == NULL);
    CHECK_MSG(strstr(err.message, needle) != NULL, "message '%s' lacks '%s'", err.message, needle);
    CHECK_MSG(strstr(err.message, path) != NULL, "message '%s' lacks the path", err.message);
}

static void test_bad_models(test_rng *rng) {
    synth_model m;
    synth_mobilenet_v1(&m, rng, 0.25f, 32, 32, 5);

    /* missing tensor */
    synth_tensor saved = m.t[7];
    m.t[7] = m.t[m.n - 1];
    m.n--;
    CHECK(synth_write(&m, tmp_path("missing.safetensors"), NULL) == 0);
    expect_load_error(tmp_path("missing.safetensors"), MNET_ERR_MODEL, saved.name);
    m.t[m.n++] = m.t[7];
    m.t[7] = saved;

    /* wrong shape */
    synth_tensor *t = synth_find(&m, "blocks.4.pw.weight");
    t->shape[0] += 8;
    t->count = t->shape[0] * t->shape[1] * t->shape[2] * t->shape[3];
    t->data = realloc(t->data, (size_t)t->count * sizeof(float));
    test_rng_fill(rng, t->data, (size_t)t->count, -1, 1);
    CHECK(synth_write(&m, tmp_path("shape.safetensors"), NULL) == 0);
    expect_load_error(tmp_path("shape.safetensors"), MNET_ERR_MODEL, "blocks.4.pw.weight");
    expect_load_error(tmp_path("shape.safetensors"), MNET_ERR_MODEL, "expected");
    t->shape[0] -= 8;
    t->count = t->shape[0] * t->shape[1] * t->shape[2] * t->shape[3];

    /* wrong dtype */
    t = synth_find(&m, "conv0.bias");
    t->dtype = "I8";
    CHECK(synth_write(&m, tmp_path("dtype.safetensors"), NULL) == 0);
    expect_load_error(tmp_path("dtype.safetensors"), MNET_ERR_MODEL, "conv0.bias");
    t->dtype = "F32";

    /* unknown architecture and bad config values */
    CHECK(synth_write(&m, tmp_path("arch.safetensors"),
                      "{\\\"architecture\\\": \\\"resnet50\\\", \\\"input\\\": {\\\"height\\\": "
                      "32, \\\"width\\\": 32, \\\"channels\\\": 3}}") == 0);
    expect_load_error(tmp_path("arch.safetensors"), MNET_ERR_MODEL, "resnet50");

    /* input too small for the network's strides */
    synth_model tiny;
    synth_mobilenet_v1(&tiny, rng, 0.25f, 1, 1, 5);
    CHECK(synth_write(&tiny, tmp_path("tiny.safetensors"), NULL) == 0);
    mnet_model *model = NULL;
    mnet_error err;
    /* 1x1 input still has a valid SAME output at every layer: it must load
     * and run. */
    CHECK_MSG(mnet_model_load(tmp_path("tiny.safetensors"), NULL, &model, &err) == MNET_OK, "%s",
              err.message);
    mnet_model_destroy(model);
    synth_free(&tiny);

    /* truncated file: every prefix length must fail cleanly */
    CHECK(synth_write(&m, tmp_path("full.safetensors"), NULL) == 0);
    FILE *f = fopen(tmp_path("full.safetensors"), "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)size);
    CHECK(fread(bytes, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    for (long cut = 0; cut < size; cut += (cut < 4096 ? 97 : 3001)) {
        model = (mnet_model *)1;
        mnet_status st = mnet_model_load_memory(bytes, (size_t)cut, NULL, &model, &err);
        CHECK_MSG(st != MNET_OK && model == NULL, "truncated at %ld loaded", cut);
        CHECK(err.message[0] != '\0');
    }
    model = NULL;
    CHECK(mnet_model_load_memory(bytes, (size_t)size, NULL, &model, &err) == MNET_OK);
    mnet_model_destroy(model);
    free(bytes);
    synth_free(&m);

    expect_load_error(tmp_path("does-not-exist.safetensors"), MNET_ERR_IO, "does-not-exist");
    expect_load_error(tmpdir, MNET_ERR_IO, tmpdir);
}

static void test_api_misuse(test_rng *rng) {
    synth_model m;
    synth_mobilenet_v2(&m, rng, 0.35f, 40, 36, 7);
    CHECK(synth_write(&m, tmp_path("v2.safetensors"), NULL) == 0);
    synth_free(&m);
    mnet_error err;
    mnet_model *model = NULL;
    CHECK(mnet_model_load(NULL, NULL, &model, &err) == MNET_ERR_INVALID_ARGUMENT);
    CHECK(mnet_model_load(tmp_path("v2.safetensors"), NULL, NULL, &err) ==
          MNET_ERR_INVALID_ARGUMENT);
    CHECK(mnet_model_load(tmp_path("v2.safetensors"), NULL, &model, NULL) == MNET_OK);

    mnet_options opt;
    mnet_options_init(&opt);
    opt.isa = "no-such-isa";
    mnet_model *bad = NULL;
    CHECK(mnet_model_load(tmp_path("v2.safetensors"), &opt, &bad, &err) == MNET_ERR_UNSUPPORTED ||
          getenv("MNET_ISA") != NULL);
    mnet_model_destroy(bad);

    mnet_session *s = NULL;
    CHECK(mnet_session_create(NULL, NULL, &s, &err) == MNET_ERR_INVALID_ARGUMENT);
    CHECK(mnet_session_create(model, NULL, NULL, &err) == MNET_ERR_INVALID_ARGUMENT);

    /* feature taps, canonical and TF-slim alias, and an unknown one */
    const char *taps[3] = {"block13/expand", "expanded_conv_13/expand", "block5/output"};
    mnet_session_options so = {taps, 3};
    CHECK(mnet_session_create(model, &so, &s, &err) == MNET_OK);
    const char *unknown[1] = {"block99/output"};
    mnet_session_options bad_so = {unknown, 1};
    mnet_session *s_bad = NULL;
    CHECK(mnet_session_create(model, &bad_so, &s_bad, &err) == MNET_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "block99/output") != NULL);

    /* a memory cap below what the session needs */
    mnet_options capped;
    mnet_options_init(&capped);
    capped.max_session_bytes = 1000;
    mnet_model *small = NULL;
    CHECK(mnet_model_load(tmp_path("v2.safetensors"), &capped, &small, &err) == MNET_OK);
    CHECK(mnet_session_create(small, NULL, &s_bad, &err) == MNET_ERR_LIMIT);
    mnet_model_destroy(small);

    CHECK(mnet_run(s, NULL, 0) == MNET_ERR_INVALID_ARGUMENT);
    CHECK(strlen(mnet_session_error(s)) > 0);
    float input[40 * 36 * 3];
    test_rng_fill(rng, input, sizeof input / sizeof *input, -1, 1);
    CHECK(mnet_run(s, input, 10) == MNET_ERR_INVALID_ARGUMENT);

    /* features from an image: both names of block 13's expansion are the
     * same data, with the V2 expansion width */
    unsigned char pixels[50 * 45 * 3];
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (unsigned char)(test_rng_next(rng) >> 56);
    mnet_image img = mnet_image_packed(MNET_PIXEL_RGB, pixels, 45, 50, 45 * 3);
    mnet_tensor feats[3];
    mnet_status st = mnet_features(s, &img, NULL, feats);
    CHECK_MSG(st == MNET_OK, "%s", mnet_session_error(s));
    if (st == MNET_OK) {
        CHECK(feats[0].data == feats[1].data);
        CHECK(feats[0].channels == synth_make_divisible(synth_make_divisible(96 * 0.35f, 8) * 6.0f, 8));
        CHECK(feats[2].height > 0 && feats[2].channels == synth_make_divisible(32 * 0.35f, 8));
    }

    /* classification; k larger than the class count is clipped */
    mnet_class top[10];
    int n = -1;
    CHECK(mnet_classify(s, &img, NULL, 10, top, &n) == MNET_OK);
    CHECK(n == 7);
    float sum = 0;
    for (int i = 0; i < n; i++) {
        sum += top[i].score;
        if (i) CHECK(top[i].score <= top[i - 1].score);
    }
    CHECK(fabsf(sum - 1.0f) < 1e-4f);
    CHECK(mnet_classify(s, &img, NULL, 0, top, &n) == MNET_ERR_INVALID_ARGUMENT);
    CHECK(mnet_classify(s, NULL, NULL, 3, top, &n) != MNET_OK);
    CHECK(strlen(mnet_session_error(s)) > 0);
    mnet_image bad_img = img;
    bad_img.width = 0;
    CHECK(mnet_classify(s, &bad_img, NULL, 3, top, &n) == MNET_ERR_INVALID_ARGUMENT);

    /* the same picture as BGR gives the same classes and scores */
    unsigned char bgr[50 * 45 * 3];
    for (int i = 0; i < 50 * 45; i++) {
        bgr[3 * i] = pixels[3 * i + 2];
        bgr[3 * i + 1] = pixels[3 * i + 1];
        bgr[3 * i + 2] = pixels[3 * i];
    }
    mnet_class top_bgr[3];
    mnet_image img_bgr = mnet_image_packed(MNET_PIXEL_BGR, bgr, 45, 50, 45 * 3);
    CHECK(mnet_classify(s, &img, NULL, 3, top, &n) == MNET_OK);
    CHECK(mnet_classify(s, &img_bgr, NULL, 3, top_bgr, &n) == MNET_OK);
    for (int i = 0; i < 3; i++) {
        CHECK(top[i].index == top_bgr[i].index);
        CHECK(top[i].score == top_bgr[i].score);
    }

    CHECK(mnet_model_plan_size(model) > 50);
    mnet_plan_step step;
    CHECK(mnet_model_plan_step(model, 0, &step) == MNET_OK && step.stride == 2);
    CHECK(mnet_model_plan_step(model, -1, &step) == MNET_ERR_INVALID_ARGUMENT);
    CHECK(mnet_model_tap_count(model) > 50);
    mnet_session_destroy(s);
    mnet_model_destroy(model);
    mnet_model_destroy(NULL);
    mnet_session_destroy(NULL);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mnet_test_model_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_rng rng = {0x9e3779b97f4a7c15ull};
    synth_model m;
    synth_mobilenet_v1(&m, &rng, 0.25f, 64, 48, 11);
    check_network(&m, &rng, "v1_025.safetensors");
    synth_free(&m);
    synth_mobilenet_v1(&m, &rng, 0.5f, 37, 41, 3);
    check_network(&m, &rng, "v1_05_odd.safetensors");
    synth_free(&m);
    synth_mobilenet_v2(&m, &rng, 0.35f, 64, 64, 9);
    check_network(&m, &rng, "v2_035.safetensors");
    synth_free(&m);
    synth_mobilenet_v2(&m, &rng, 1.4f, 35, 29, 4);
    check_network(&m, &rng, "v2_14_odd.safetensors");
    synth_free(&m);
    test_bad_models(&rng);
    test_api_misuse(&rng);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_MAIN_END();
}
