/* Builds complete, valid model files in memory for any config the library
 * accepts, without knowing the architecture: the loader is asked to load
 * the file, and every "tensor 'X' [shape] is missing" it reports is added
 * with random F16 weights, until the file loads. The weights are therefore
 * exactly what the plan builder wants, whatever the family, width or head.
 * Used for fuzz seeds and for the limit and concurrency tests. */
#ifndef MNET_TESTS_MODEL_BUILDER_H
#define MNET_TESTS_MODEL_BUILDER_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnet.h"

#define MB_MAX_TENSORS 512
#define MB_MAX_RANK 4

typedef struct mb_tensor {
    char name[96];
    int rank;
    int64_t shape[MB_MAX_RANK];
} mb_tensor;

typedef struct mb_model {
    mb_tensor tensors[MB_MAX_TENSORS];
    int count;
    uint64_t seed;
} mb_model;

static uint64_t mb_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Half-precision bits of a value in (-1, 1), rounded toward zero: enough
 * for random weights. */
static uint16_t mb_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    int32_t exponent = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    if (exponent <= 0) return (uint16_t)sign;
    return (uint16_t)(sign | (uint32_t)exponent << 10 | (x & 0x7fffffu) >> 13);
}

static int64_t mb_count(const mb_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->shape[i];
    return n;
}

/* Appends s to out as a JSON string body (quotes and backslashes escaped). */
static size_t mb_escape(char *out, const char *s) {
    size_t n = 0;
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') out[n++] = '\\';
        out[n++] = *s;
    }
    return n;
}

/* The whole file: header (metadata, tensors), then weights. F16 values are
 * random, scaled by 1/sqrt(fan-in) so activations stay of order one.
 * num_labels > 0 adds that many labels. Returns NULL when out of memory. */
static unsigned char *mb_serialize(const mb_model *m, const char *config, int num_labels,
                                   size_t *size) {
    *size = 0;
    size_t cap = 4096 + 2 * strlen(config) + (size_t)num_labels * 24 +
                 (size_t)m->count * 192;
    char *header = malloc(cap);
    if (!header) return NULL;
    size_t n = (size_t)sprintf(header, "{\"__metadata__\": {\"format\": \"mnet\", "
                                       "\"mnet.format_version\": \"1\", \"mnet.config\": \"");
    n += mb_escape(header + n, config);
    n += (size_t)sprintf(header + n, "\"");
    if (num_labels > 0) {
        n += (size_t)sprintf(header + n, ", \"mnet.labels\": \"[");
        for (int i = 0; i < num_labels; i++)
            n += (size_t)sprintf(header + n, "%s\\\"class %d\\\"", i ? ", " : "", i);
        n += (size_t)sprintf(header + n, "]\"");
    }
    n += (size_t)sprintf(header + n, "}");
    uint64_t offset = 0;
    for (int i = 0; i < m->count; i++) {
        const mb_tensor *t = &m->tensors[i];
        uint64_t bytes = (uint64_t)mb_count(t) * 2;
        n += (size_t)sprintf(header + n, ", \"%s\": {\"dtype\": \"F16\", \"shape\": [", t->name);
        for (int d = 0; d < t->rank; d++)
            n += (size_t)sprintf(header + n, "%s%" PRId64, d ? ", " : "", t->shape[d]);
        n += (size_t)sprintf(header + n, "], \"data_offsets\": [%" PRIu64 ", %" PRIu64 "]}",
                             offset, offset + bytes);
        offset += bytes;
    }
    n += (size_t)sprintf(header + n, "}");
    while (n % 8) header[n++] = ' ';
    *size = 8 + n + (size_t)offset;
    unsigned char *file = malloc(*size);
    if (!file) {
        free(header);
        return NULL;
    }
    for (int i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(file + 8, header, n);
    free(header);
    unsigned char *p = file + 8 + n;
    uint64_t rng = m->seed | 1;
    for (int i = 0; i < m->count; i++) {
        const mb_tensor *t = &m->tensors[i];
        int64_t count = mb_count(t);
        int64_t fan_in = t->rank > 1 ? count / t->shape[0] : 1;
        float scale = t->rank > 1 ? 1.7f / sqrtf((float)(fan_in > 0 ? fan_in : 1)) : 0.2f;
        for (int64_t k = 0; k < count; k++) {
            float u = (float)((mb_next(&rng) >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
            uint16_t h = mb_half(u * scale);
            *p++ = (unsigned char)(h & 0xff);
            *p++ = (unsigned char)(h >> 8);
        }
    }
    return file;
}

/* Parses "tensor 'NAME' [a, b, ...] is missing" into t; 0 on success. */
static int mb_parse_missing(const char *message, mb_tensor *t) {
    const char *start = strstr(message, "tensor '");
    if (!start || !strstr(message, "is missing")) return -1;
    start += 8;
    const char *end = strchr(start, '\'');
    if (!end || (size_t)(end - start) >= sizeof t->name) return -1;
    memset(t, 0, sizeof *t);
    memcpy(t->name, start, (size_t)(end - start));
    const char *p = strchr(end, '[');
    if (!p) return -1;
    p++;
    while (*p && *p != ']') {
        if (t->rank == MB_MAX_RANK) return -1;
        char *next;
        long long v = strtoll(p, &next, 10);
        if (next == p || v < 0) return -1;
        t->shape[t->rank++] = v;
        p = next;
        while (*p == ',' || *p == ' ') p++;
    }
    return 0;
}

/* Builds a model file for config (a mnet.config JSON text); returns the
 * malloc'd file or NULL with the loader's last message in why. */
static unsigned char *mb_build(const char *config, int num_labels, uint64_t seed, size_t *size,
                               char *why, size_t why_size) {
    static mb_model model; /* large; tests are single-threaded when building */
    memset(&model, 0, sizeof model);
    model.seed = seed;
    mnet_options options;
    mnet_options_init(&options);
    options.threads = 1;
    for (int attempt = 0; attempt <= MB_MAX_TENSORS; attempt++) {
        unsigned char *file = mb_serialize(&model, config, num_labels, size);
        if (!file) {
            snprintf(why, why_size, "out of memory");
            return NULL;
        }
        mnet_model *loaded = NULL;
        mnet_error error;
        mnet_status status = mnet_model_load_memory(file, *size, &options, &loaded, &error);
        mnet_model_destroy(loaded);
        if (status == MNET_OK) return file;
        free(file);
        snprintf(why, why_size, "%s", error.message);
        if (model.count == MB_MAX_TENSORS ||
            mb_parse_missing(error.message, &model.tensors[model.count]) != 0)
            return NULL;
        model.count++;
    }
    return NULL;
}

/* A mnet.config for a classifier backbone; last_channels < 0 = absent. */
static void mb_classifier_config(char *out, size_t size, const char *arch, double dm, int height,
                                 int width, int classes, int last_channels) {
    char last[48] = "";
    if (last_channels >= 0) snprintf(last, sizeof last, "\"last_channels\": %d, ", last_channels);
    snprintf(out, size,
             "{\"architecture\": \"%s\", \"depth_multiplier\": %g, %s\"padding\": \"tf_same\", "
             "\"input\": {\"height\": %d, \"width\": %d, \"channels\": 3, \"color\": \"rgb\", "
             "\"mean\": [127.5, 127.5, 127.5], \"std\": [127.5, 127.5, 127.5]}, "
             "\"preprocess\": {\"fit\": \"center_crop\", \"crop_fraction\": 0.875}, "
             "\"num_classes\": %d}",
             arch, dm, last, height, width, classes);
}

#endif
