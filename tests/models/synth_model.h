/* Writes small MobileNet model files with random weights for the C tests,
 * independently of the Python converters, so loader and plan errors can be
 * provoked one tensor at a time. */
#ifndef MNET_TEST_SYNTH_MODEL_H
#define MNET_TEST_SYNTH_MODEL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define SYNTH_MAX_TENSORS 160

typedef struct synth_tensor {
    char name[96];
    int rank;
    int64_t shape[4];
    int64_t count;
    float *data;
    const char *dtype; /* "F32" default, "F16", "I8" ... as written */
} synth_tensor;

typedef struct synth_model {
    synth_tensor t[SYNTH_MAX_TENSORS];
    int n;
    char arch[32];
    float dm;
    int h, w, classes;
    const char *padding;
} synth_model;

static synth_tensor *synth_add(synth_model *m, test_rng *rng, const char *name, int rank,
                               int64_t a, int64_t b, int64_t c, int64_t d, float scale) {
    synth_tensor *t = &m->t[m->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rank = rank;
    int64_t dims[4] = {a, b, c, d};
    t->count = 1;
    for (int i = 0; i < rank; i++) {
        t->shape[i] = dims[i];
        t->count *= dims[i];
    }
    t->data = malloc((size_t)t->count * sizeof(float));
    test_rng_fill(rng, t->data, (size_t)t->count, -scale, scale);
    t->dtype = "F32";
    return t;
}

static synth_tensor *synth_find(synth_model *m, const char *name) {
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->t[i].name, name) == 0) return &m->t[i];
    return NULL;
}

static void synth_free(synth_model *m) {
    for (int i = 0; i < m->n; i++) free(m->t[i].data);
    m->n = 0;
}

/* Conv weight [out, k, k, in] scaled like He init so activations stay O(1). */
static void synth_conv(synth_model *m, test_rng *rng, const char *prefix, int out, int k, int in) {
    char name[80];
    snprintf(name, sizeof name, "%s.weight", prefix);
    synth_add(m, rng, name, 4, out, k, k, in, 1.7f / sqrtf((float)(k * k * in)));
    snprintf(name, sizeof name, "%s.bias", prefix);
    synth_add(m, rng, name, 1, out, 0, 0, 0, 0.2f);
}

static int synth_make_divisible(float v, int d) {
    int n = (int)(v + d / 2.0f) / d * d;
    if (n < d) n = d;
    if (n < 0.9f * v) n += d;
    return n;
}

static const int synth_v1_widths[13] = {64, 128, 128, 256, 256, 512, 512,
                                        512, 512, 512, 512, 1024, 1024};
static const int synth_v1_strides[13] = {1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};

static int synth_v1_ch(float dm, int base) {
    int c = (int)(base * dm);
    return c < 8 ? 8 : c;
}

static void synth_mobilenet_v1(synth_model *m, test_rng *rng, float dm, int h, int w,
                               int classes) {
    memset(m, 0, sizeof *m);
    snprintf(m->arch, sizeof m->arch, "mobilenet_v1");
    m->dm = dm;
    m->h = h;
    m->w = w;
    m->classes = classes;
    m->padding = "tf_same";
    int c = synth_v1_ch(dm, 32);
    synth_conv(m, rng, "conv0", c, 3, 3);
    for (int i = 0; i < 13; i++) {
        char p[64];
        snprintf(p, sizeof p, "blocks.%d.dw", i);
        synth_conv(m, rng, p, c, 3, 1);
        int out = synth_v1_ch(dm, synth_v1_widths[i]);
        snprintf(p, sizeof p, "blocks.%d.pw", i);
        synth_conv(m, rng, p, out, 1, c);
        c = out;
    }
    if (classes) {
        synth_add(m, rng, "classifier.weight", 2, classes, c, 0, 0, 1.0f / sqrtf((float)c));
        synth_add(m, rng, "classifier.bias", 1, classes, 0, 0, 0, 0.1f);
    }
}

typedef struct synth_v2_stage {
    int t, c, n, s;
} synth_v2_stage;
static const synth_v2_stage synth_v2_stages[7] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2},
                                                  {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2},
                                                  {6, 320, 1, 1}};

static int synth_v2_last(float dm) { return dm > 1.0f ? synth_make_divisible(1280 * dm, 8) : 1280; }

static void synth_mobilenet_v2(synth_model *m, test_rng *rng, float dm, int h, int w,
                               int classes) {
    memset(m, 0, sizeof *m);
    snprintf(m->arch, sizeof m->arch, "mobilenet_v2");
    m->dm = dm;
    m->h = h;
    m->w = w;
    m->classes = classes;
    m->padding = "symmetric";
    int c = synth_make_divisible(32 * dm, 8);
    synth_conv(m, rng, "conv0", c, 3, 3);
    int block = 0;
    for (int s = 0; s < 7; s++) {
        int out = synth_make_divisible(synth_v2_stages[s].c * dm, 8);
        for (int r = 0; r < synth_v2_stages[s].n; r++, block++) {
            char p[64];
            int e = c;
            if (synth_v2_stages[s].t != 1) {
                e = synth_make_divisible((float)(c * synth_v2_stages[s].t), 8);
                snprintf(p, sizeof p, "blocks.%d.expand", block);
                synth_conv(m, rng, p, e, 1, c);
            }
            snprintf(p, sizeof p, "blocks.%d.dw", block);
            synth_conv(m, rng, p, e, 3, 1);
            snprintf(p, sizeof p, "blocks.%d.project", block);
            synth_conv(m, rng, p, out, 1, e);
            c = out;
        }
    }
    int last = synth_v2_last(dm);
    synth_conv(m, rng, "conv_last", last, 1, c);
    if (classes) {
        synth_add(m, rng, "classifier.weight", 2, classes, last, 0, 0, 1.0f / sqrtf((float)last));
        synth_add(m, rng, "classifier.bias", 1, classes, 0, 0, 0, 0.1f);
    }
}

static uint16_t synth_f16(float f) {
    /* round-to-nearest-even float -> half for normal values; tests use
     * values well inside the half range. */
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t mant = x & 0x7fffffu;
    if (exp <= 0) return (uint16_t)sign; /* flush tiny values to zero */
    uint32_t h = sign | ((uint32_t)exp << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
    return (uint16_t)h;
}

/* Writes the model; extra_meta is appended inside __metadata__ (may be ""),
 * config_override replaces the mnet.config JSON when not NULL. Returns 0. */
static int synth_write(const synth_model *m, const char *path, const char *config_override) {
    size_t cap = 1 << 16;
    char *hdr = malloc(cap);
    size_t len = 0;
    int64_t offset = 0;
    char config[1024];
    if (config_override)
        snprintf(config, sizeof config, "%s", config_override);
    else
        snprintf(config, sizeof config,
                 "{\\\"architecture\\\": \\\"%s\\\", \\\"depth_multiplier\\\": %g, "
                 "\\\"padding\\\": \\\"%s\\\", \\\"input\\\": {\\\"height\\\": %d, "
                 "\\\"width\\\": %d, \\\"channels\\\": 3, \\\"color\\\": \\\"rgb\\\", "
                 "\\\"mean\\\": [127.5, 127.5, 127.5], \\\"std\\\": [127.5, 127.5, 127.5]}, "
                 "\\\"preprocess\\\": {\\\"fit\\\": \\\"stretch\\\"}, \\\"num_classes\\\": %d}",
                 m->arch, (double)m->dm, m->padding, m->h, m->w, m->classes);
    len += (size_t)snprintf(hdr + len, cap - len,
                            "{\"__metadata__\": {\"format\": \"mnet\", \"mnet.format_version\": "
                            "\"1\", \"mnet.config\": \"%s\"}",
                            config);
    for (int i = 0; i < m->n; i++) {
        const synth_tensor *t = &m->t[i];
        int64_t bytes = t->count * (strcmp(t->dtype, "F16") == 0 ? 2 : strcmp(t->dtype, "F32") == 0 ? 4 : 1);
        len += (size_t)snprintf(hdr + len, cap - len, ", \"%s\": {\"dtype\": \"%s\", \"shape\": [",
                                t->name, t->dtype);
        for (int d = 0; d < t->rank; d++)
            len += (size_t)snprintf(hdr + len, cap - len, "%s%lld", d ? ", " : "",
                                    (long long)t->shape[d]);
        len += (size_t)snprintf(hdr + len, cap - len, "], \"data_offsets\": [%lld, %lld]}",
                                (long long)offset, (long long)(offset + bytes));
        offset += bytes;
        if (len + 512 > cap) {
            cap *= 2;
            hdr = realloc(hdr, cap);
        }
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8) hdr[len++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(hdr);
        return -1;
    }
    uint64_t n = len;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(n >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(hdr, 1, len, f);
    for (int i = 0; i < m->n; i++) {
        const synth_tensor *t = &m->t[i];
        for (int64_t j = 0; j < t->count; j++) {
            if (strcmp(t->dtype, "F16") == 0) {
                uint16_t h = synth_f16(t->data[j]);
                fwrite(&h, 2, 1, f);
            } else if (strcmp(t->dtype, "F32") == 0) {
                fwrite(&t->data[j], 4, 1, f);
            } else {
                signed char q = (signed char)(t->data[j] * 100);
                fwrite(&q, 1, 1, f);
            }
        }
    }
    fclose(f);
    free(hdr);
    return 0;
}

#endif
