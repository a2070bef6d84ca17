/* Model config: random valid configs round-trip; each bad field is rejected
 * with a message naming it; channel-width rules match published widths. */
#include <string.h>

#include "core/channels.h"
#include "core/model_config.h"
#include "test_util.h"

/* ---- building a model file around metadata --------------------------- */

/* Metadata as key/value pairs (value NULL: key left out). One tensor so the
 * file is not empty. */
static unsigned char *make_file(const char *const *pairs, size_t *size) {
    size_t cap = 64;
    for (int i = 0; pairs[i]; i += 2) cap += 8 * (strlen(pairs[i]) + (pairs[i + 1] ? strlen(pairs[i + 1]) : 0)) + 16;
    char *header = malloc(cap + 128);
    size_t n = (size_t)sprintf(header, "{\"__metadata__\": {");
    int first = 1;
    for (int i = 0; pairs[i]; i += 2) {
        if (!pairs[i + 1]) continue;
        if (!first) n += (size_t)sprintf(header + n, ", ");
        first = 0;
        n += test_json_string(header + n, pairs[i], strlen(pairs[i]));
        n += (size_t)sprintf(header + n, ": ");
        n += test_json_string(header + n, pairs[i + 1], strlen(pairs[i + 1]));
    }
    n += (size_t)sprintf(header + n,
                         "}, \"t\": {\"dtype\": \"U8\", \"shape\": [3], \"data_offsets\": [0, 3]}}");
    unsigned char *file = malloc(8 + n + 3);
    for (int i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(file + 8, header, n);
    memcpy(file + 8 + n, "abc", 3);
    *size = 8 + n + 3;
    free(header);
    return file;
}

static int is_zeroed(const mnet_model_config *c) {
    mnet_model_config zero;
    memset(&zero, 0, sizeof zero);
    return memcmp(c, &zero, sizeof zero) == 0;
}

/* Parses a file with the given metadata; returns the status and fills c. */
static mnet_status parse_metadata(const char *const *pairs, mnet_model_config *c,
                                  mnet_error *err) {
    size_t size;
    unsigned char *file = make_file(pairs, &size);
    mnet_safetensors *st = NULL;
    mnet_status status = mnet_st_open_memory(file, size, &st, err);
    CHECK_MSG(status == MNET_OK, "test file: %s", err->message);
    if (status == MNET_OK) {
        status = mnet_model_config_parse(st, c, err);
        mnet_st_close(st);
    }
    free(file);
    if (status != MNET_OK) CHECK(is_zeroed(c));
    return status;
}

/* ---- a config built from fields, any one replaced or removed ---------- */

typedef struct field {
    const char *path; /* "input.height" */
    const char *value;
} field;

static const field base_fields[] = {
    {"architecture", "\"mobilenet_v2\""},
    {"name", "\"test \\\"model\\\"\""},
    {"depth_multiplier", "0.75"},
    {"padding", "\"symmetric\""},
    {"input.height", "160"},
    {"input.width", "192"},
    {"input.channels", "3"},
    {"input.color", "\"bgr\""},
    {"input.mean", "[103.5, 116.25, 123.75]"},
    {"input.std", "[57.5, 57.0, 58.5]"},
    {"preprocess.fit", "\"letterbox\""},
    {"preprocess.crop_fraction", "0.5"},
    {"num_classes", "3"},
};
#define NUM_FIELDS (sizeof base_fields / sizeof base_fields[0])

/* replace: a path whose value becomes `value` (NULL = removed); a path not
 * in the base list is appended. A whole object ("input") may be replaced. */
static void build_config(char *out, const char *replace, const char *value) {
    size_t n = (size_t)sprintf(out, "{");
    int replaced = 0;
    const char *groups[] = {"", "input", "preprocess"};
    for (int g = 0; g < 3; g++) {
        size_t glen = strlen(groups[g]);
        if (g > 0) {
            if (strcmp(replace, groups[g]) == 0) {
                replaced = 1;
                if (value) n += (size_t)sprintf(out + n, "%s\"%s\": %s", n > 1 ? ", " : "", groups[g], value);
                continue;
            }
            n += (size_t)sprintf(out + n, "%s\"%s\": {", n > 1 ? ", " : "", groups[g]);
        }
        size_t group_start = n;
        for (size_t i = 0; i < NUM_FIELDS; i++) {
            const char *path = base_fields[i].path;
            const char *dot = strchr(path, '.');
            if (g == 0 ? dot != NULL : (strncmp(path, groups[g], glen) != 0 || path[glen] != '.'))
                continue;
            const char *v = base_fields[i].value;
            if (strcmp(path, replace) == 0) {
                replaced = 1;
                v = value;
            }
            if (!v) continue;
            n += (size_t)sprintf(out + n, "%s\"%s\": %s", n > group_start && out[n - 1] != '{' ? ", " : "",
                                 g == 0 ? path : dot + 1, v);
        }
        if (g > 0) n += (size_t)sprintf(out + n, "}");
    }
    if (!replaced && value) n += (size_t)sprintf(out + n, ", \"%s\": %s", replace, value);
    sprintf(out + n, "}");
}

static const char *const good_labels = "[\"cat\", \"dog \\u00e9\", \"\\\"quoted\\\"\"]";

static mnet_status parse_config(const char *config_text, const char *labels, mnet_model_config *c,
                                mnet_error *err) {
    const char *pairs[] = {"format", "mnet", "mnet.format_version", "1", "mnet.config", config_text,
                           "mnet.labels", labels, NULL};
    return parse_metadata(pairs, c, err);
}

static void test_base_config(void) {
    char text[2048];
    build_config(text, "", NULL);
    mnet_model_config c;
    mnet_error err;
    mnet_status status = parse_config(text, good_labels, &c, &err);
    CHECK_MSG(status == MNET_OK, "%s\n%s", err.message, text);
    if (status != MNET_OK) return;
    CHECK(c.arch == MNET_ARCH_MOBILENET_V2);
    CHECK(strcmp(c.name, "test \"model\"") == 0);
    CHECK(c.depth_multiplier == 0.75f);
    CHECK(c.last_channels == 1280);
    CHECK(c.padding == MNET_PAD_SYMMETRIC);
    CHECK(c.input_h == 160 && c.input_w == 192 && c.input_c == 3);
    CHECK(c.bgr == 1);
    CHECK(c.mean[0] == 103.5f && c.mean[1] == 116.25f && c.mean[2] == 123.75f);
    CHECK(c.std[0] == 57.5f && c.std[1] == 57.0f && c.std[2] == 58.5f);
    CHECK(c.fit == MNET_FIT_LETTERBOX && c.crop_fraction == 0.5f);
    CHECK(c.num_classes == 3 && c.num_labels == 3);
    CHECK(strcmp(c.labels[0], "cat") == 0 && strcmp(c.labels[1], "dog \xC3\xA9") == 0 &&
          strcmp(c.labels[2], "\"quoted\"") == 0);
    CHECK(strcmp(c.provenance, "") == 0);
    CHECK(c.quantization == NULL);
    CHECK(strcmp(mnet_arch_name(c.arch), "mobilenet_v2") == 0);
    mnet_model_config_free(&c);
    CHECK(is_zeroed(&c));
    mnet_model_config_free(&c); /* freeing twice is harmless */
}

static void test_defaults(void) {
    const char *minimal = "{\"architecture\": \"mobilenet_v1\", \"depth_multiplier\": 0.25,"
                          " \"input\": {\"height\": 128, \"width\": 128}}";
    mnet_model_config c;
    mnet_error err;
    mnet_status status = parse_config(minimal, NULL, &c, &err);
    CHECK_MSG(status == MNET_OK, "%s", err.message);
    if (status != MNET_OK) return;
    CHECK(c.arch == MNET_ARCH_MOBILENET_V1 && c.last_channels == 0);
    CHECK(strcmp(c.name, "") == 0);
    CHECK(c.padding == MNET_PAD_TF_SAME && c.bgr == 0 && c.input_c == 3);
    for (int i = 0; i < 3; i++) CHECK(c.mean[i] == 127.5f && c.std[i] == 127.5f);
    CHECK(c.fit == MNET_FIT_CENTER_CROP && c.crop_fraction == 0.875f);
    CHECK(c.num_classes == 0 && c.labels == NULL && c.num_labels == 0);
    mnet_model_config_free(&c);

    /* A scalar mean/std applies to all channels. */
    const char *scalar = "{\"architecture\": \"mobilenet_v1\", \"depth_multiplier\": 1,"
                         " \"input\": {\"height\": 8, \"width\": 4096, \"mean\": 1.5, \"std\": -2}}";
    status = parse_config(scalar, NULL, &c, &err);
    CHECK_MSG(status == MNET_OK, "%s", err.message);
    for (int i = 0; i < 3 && status == MNET_OK; i++) CHECK(c.mean[i] == 1.5f && c.std[i] == -2.0f);
    mnet_model_config_free(&c);
}

/* The published widths of the Keras / torchvision MobileNet V2 variants. */
static void test_channels(void) {
    static const struct {
        float dm;
        int widths[9]; /* stem, then the seven stage widths, then last */
    } v2[] = {
        {0.35f, {16, 8, 8, 16, 24, 32, 56, 112, 1280}},
        {0.5f, {16, 8, 16, 16, 32, 48, 80, 160, 1280}},
        {0.75f, {24, 16, 24, 24, 48, 72, 120, 240, 1280}},
        {1.0f, {32, 16, 24, 32, 64, 96, 160, 320, 1280}},
        {1.3f, {40, 24, 32, 40, 80, 128, 208, 416, 1664}},
        {1.4f, {48, 24, 32, 48, 88, 136, 224, 448, 1792}},
    };
    static const int base[9] = {32, 16, 24, 32, 64, 96, 160, 320, 1280};
    for (size_t i = 0; i < sizeof v2 / sizeof v2[0]; i++)
        for (int k = 0; k < 8; k++) {
            int got = mnet_make_divisible((float)base[k] * v2[i].dm, 8);
            CHECK_MSG(got == v2[i].widths[k], "dm %g base %d: %d, expected %d", v2[i].dm, base[k],
                      got, v2[i].widths[k]);
        }
    CHECK(mnet_make_divisible(3.0f, 8) == 8);
    CHECK(mnet_make_divisible(0.0f, 8) == 8);

    /* V1: max(8, int(base * dm)). */
    CHECK(mnet_mobilenet_v1_channels(0.25f, 32) == 8);
    CHECK(mnet_mobilenet_v1_channels(0.25f, 64) == 16);
    CHECK(mnet_mobilenet_v1_channels(0.25f, 1024) == 256);
    CHECK(mnet_mobilenet_v1_channels(0.75f, 32) == 24);
    CHECK(mnet_mobilenet_v1_channels(0.75f, 1024) == 768);
    CHECK(mnet_mobilenet_v1_channels(0.5f, 1024) == 512);
    CHECK(mnet_mobilenet_v1_channels(1.4f, 512) == 716);

    /* last_channels resolution for each multiplier, absent from the config. */
    for (size_t i = 0; i < sizeof v2 / sizeof v2[0]; i++) {
        char text[2048], dm[32];
        snprintf(dm, sizeof dm, "%.2f", v2[i].dm);
        build_config(text, "depth_multiplier", dm);
        mnet_model_config c;
        mnet_error err;
        if (parse_config(text, good_labels, &c, &err) != MNET_OK) {
            CHECK_MSG(0, "%s", err.message);
            continue;
        }
        CHECK_MSG(c.last_channels == v2[i].widths[8], "dm %s: last_channels %d", dm, c.last_channels);
        mnet_model_config_free(&c);
    }
}

typedef struct bad_case {
    const char *path;
    const char *value;
    mnet_status status;
    const char *needle;
} bad_case;

static void test_bad_fields(void) {
    static const bad_case cases[] = {
        {"architecture", "\"resnet50\"", MNET_ERR_MODEL, "architecture"},
        {"architecture", "3", MNET_ERR_MODEL, "architecture"},
        {"architecture", NULL, MNET_ERR_MODEL, "architecture"},
        {"architecture", "\"ssd\"", MNET_ERR_MODEL, "backbone"},
        {"architecture", "\"deeplabv3\"", MNET_ERR_MODEL, "backbone"},
        {"architecture", "\"deeplabv3plus\"", MNET_ERR_UNSUPPORTED, "deeplabv3plus"},
        {"architecture", "\"mobilenet_v3\"", MNET_ERR_UNSUPPORTED, "mobilenet_v3"},
        {"name", "5", MNET_ERR_MODEL, "name"},
        {"depth_multiplier", "0", MNET_ERR_MODEL, "depth_multiplier"},
        {"depth_multiplier", "-1", MNET_ERR_MODEL, "depth_multiplier"},
        {"depth_multiplier", "4.5", MNET_ERR_MODEL, "depth_multiplier"},
        {"depth_multiplier", "1e-60", MNET_ERR_MODEL, "depth_multiplier"},
        {"depth_multiplier", "\"1.0\"", MNET_ERR_MODEL, "depth_multiplier"},
        {"depth_multiplier", NULL, MNET_ERR_MODEL, "depth_multiplier"},
        {"last_channels", "-8", MNET_ERR_MODEL, "last_channels"},
        {"last_channels", "70000", MNET_ERR_MODEL, "last_channels"},
        {"last_channels", "640.5", MNET_ERR_MODEL, "last_channels"},
        {"last_channels", "\"1280\"", MNET_ERR_MODEL, "last_channels"},
        {"padding", "\"valid\"", MNET_ERR_MODEL, "padding"},
        {"padding", "1", MNET_ERR_MODEL, "padding"},
        {"input", "[]", MNET_ERR_MODEL, "input"},
        {"input", NULL, MNET_ERR_MODEL, "input"},
        {"input.height", "0", MNET_ERR_MODEL, "input.height"},
        {"input.height", "4097", MNET_ERR_MODEL, "input.height"},
        {"input.height", "1.5", MNET_ERR_MODEL, "input.height"},
        {"input.height", "\"224\"", MNET_ERR_MODEL, "input.height"},
        {"input.height", NULL, MNET_ERR_MODEL, "input.height"},
        {"input.width", "-224", MNET_ERR_MODEL, "input.width"},
        {"input.width", "1e10", MNET_ERR_MODEL, "input.width"},
        {"input.width", NULL, MNET_ERR_MODEL, "input.width"},
        {"input.channels", "1", MNET_ERR_MODEL, "input.channels"},
        {"input.channels", "4", MNET_ERR_MODEL, "input.channels"},
        {"input.color", "\"yuv\"", MNET_ERR_MODEL, "input.color"},
        {"input.color", "null", MNET_ERR_MODEL, "input.color"},
        {"input.mean", "[1, 2]", MNET_ERR_MODEL, "input.mean"},
        {"input.mean", "[1, 2, \"x\"]", MNET_ERR_MODEL, "input.mean"},
        {"input.mean", "[1, 2, 3, 4]", MNET_ERR_MODEL, "input.mean"},
        {"input.mean", "\"127.5\"", MNET_ERR_MODEL, "input.mean"},
        {"input.mean", "[1, 2, 1e300]", MNET_ERR_MODEL, "input.mean"},
        {"input.std", "[1, 0, 1]", MNET_ERR_MODEL, "input.std"},
        {"input.std", "0", MNET_ERR_MODEL, "input.std"},
        {"input.std", "[1, 1, 1e-50]", MNET_ERR_MODEL, "input.std"},
        {"input.std", "{}", MNET_ERR_MODEL, "input.std"},
        {"preprocess", "3", MNET_ERR_MODEL, "preprocess"},
        {"preprocess.fit", "\"zoom\"", MNET_ERR_MODEL, "preprocess.fit"},
        {"preprocess.crop_fraction", "0", MNET_ERR_MODEL, "preprocess.crop_fraction"},
        {"preprocess.crop_fraction", "1.5", MNET_ERR_MODEL, "preprocess.crop_fraction"},
        {"preprocess.crop_fraction", "-0.1", MNET_ERR_MODEL, "preprocess.crop_fraction"},
        {"preprocess.crop_fraction", "true", MNET_ERR_MODEL, "preprocess.crop_fraction"},
        {"num_classes", "-1", MNET_ERR_MODEL, "num_classes"},
        {"num_classes", "100001", MNET_ERR_MODEL, "num_classes"},
        {"num_classes", "2.5", MNET_ERR_MODEL, "num_classes"},
        /* With three labels, another class count does not match. */
        {"num_classes", "4", MNET_ERR_MODEL, "num_classes"},
        {"num_classes", NULL, MNET_ERR_MODEL, "num_classes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048];
        build_config(text, cases[i].path, cases[i].value);
        mnet_model_config c;
        mnet_error err;
        err.message[0] = '\0';
        mnet_status status = parse_config(text, good_labels, &c, &err);
        CHECK_MSG(status == cases[i].status, "%s = %s: status %s (%s)", cases[i].path,
                  cases[i].value ? cases[i].value : "(absent)", mnet_status_string(status),
                  err.message);
        CHECK_MSG(strstr(err.message, cases[i].needle) != NULL, "%s = %s: message '%s'",
                  cases[i].path, cases[i].value ? cases[i].value : "(absent)", err.message);
        if (status == MNET_OK) mnet_model_config_free(&c);
    }

    /* Values on the edges of their ranges are accepted. */
    static const field edges[] = {
        {"depth_multiplier", "4"}, {"last_channels", "0"}, {"input.height", "4096"},
        {"input.width", "1"}, {"preprocess.crop_fraction", "1"}, {"input.std", "[-1, 1e-3, 2]"},
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        char text[2048];
        build_config(text, edges[i].path, edges[i].value);
        mnet_model_config c;
        mnet_error err;
        mnet_status status = parse_config(text, good_labels, &c, &err);
        CHECK_MSG(status == MNET_OK, "%s = %s: %s", edges[i].path, edges[i].value, err.message);
        if (status == MNET_OK) mnet_model_config_free(&c);
    }

    /* last_channels is a V2 field. */
    const char *v1 = "{\"architecture\": \"mobilenet_v1\", \"depth_multiplier\": 1,"
                     " \"last_channels\": 1024, \"input\": {\"height\": 8, \"width\": 8}}";
    mnet_model_config c;
    mnet_error err;
    CHECK(parse_config(v1, NULL, &c, &err) == MNET_ERR_MODEL);
    CHECK(strstr(err.message, "last_channels") != NULL);
}

static void test_metadata(void) {
    char config[2048];
    build_config(config, "", NULL);
    char long_label[MNET_MAX_LABEL_BYTES + 16];
    memset(long_label, 'x', sizeof long_label);
    snprintf(long_label, sizeof long_label, "[\"a\", \"b\", \"%0*d\"]", MNET_MAX_LABEL_BYTES + 1, 7);
    char edge_label[MNET_MAX_LABEL_BYTES + 32];
    snprintf(edge_label, sizeof edge_label, "[\"a\", \"b\", \"%0*d\"]", MNET_MAX_LABEL_BYTES, 7);

    static const char provenance[] = "{\"source\": \"x.tflite\", \"sha256\": \"ab\"}";
    static const char quantization[] = "{\"scheme\": \"uint8_asymmetric\"}";
    struct {
        const char *pairs[13];
        mnet_status status;
        const char *needle;
    } cases[] = {
        {{"mnet.format_version", "1", "mnet.config", config, NULL}, MNET_ERR_MODEL, "format"},
        {{"format", "pt", "mnet.format_version", "1", "mnet.config", config, NULL}, MNET_ERR_MODEL, "\"pt\""},
        {{"format", "mnet", "mnet.config", config, NULL}, MNET_ERR_MODEL, "mnet.format_version"},
        {{"format", "mnet", "mnet.format_version", "2", "mnet.config", config, NULL},
         MNET_ERR_UNSUPPORTED, "mnet.format_version"},
        {{"format", "mnet", "mnet.format_version", "1", NULL}, MNET_ERR_MODEL, "mnet.config"},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", "{\"architecture\": ", NULL},
         MNET_ERR_FORMAT, "mnet.config"},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", "[1]", NULL}, MNET_ERR_MODEL,
         "mnet.config"},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", config, "mnet.labels",
          "[\"a\", \"b\"]", NULL},
         MNET_ERR_MODEL, "mnet.labels"},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", config, "mnet.labels",
          "{\"a\": 1}", NULL},
         MNET_ERR_MODEL, "mnet.labels"},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", config, "mnet.labels",
          "[\"a\", 2, \"c\"]", NULL},
         MNET_ERR_MODEL, "label 1"},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", config, "mnet.labels",
          "[\"a\", \"b\\u0000\", \"c\"]", NULL},
         MNET_ERR_MODEL, "label 1"},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", config, "mnet.labels",
          "[\"a\", \"b\", \"c\"", NULL},
         MNET_ERR_FORMAT, "mnet.labels"},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", config, "mnet.labels",
          long_label, NULL},
         MNET_ERR_MODEL, "label 2"},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", config, "mnet.labels",
          edge_label, NULL},
         MNET_OK, ""},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", config, "mnet.provenance",
          "[]", NULL},
         MNET_ERR_MODEL, "mnet.provenance"},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", config, "mnet.provenance",
          "{", NULL},
         MNET_ERR_FORMAT, "mnet.provenance"},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", config, "mnet.quantization",
          "\"int8\"", NULL},
         MNET_ERR_MODEL, "mnet.quantization"},
        {{"format", "mnet", "mnet.format_version", "1", "mnet.config", config, "mnet.provenance",
          provenance, "mnet.quantization", quantization, NULL},
         MNET_OK, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mnet_model_config c;
        mnet_error err;
        err.message[0] = '\0';
        mnet_status status = parse_metadata(cases[i].pairs, &c, &err);
        CHECK_MSG(status == cases[i].status, "metadata case %zu: %s (%s)", i,
                  mnet_status_string(status), err.message);
        CHECK_MSG(strstr(err.message, cases[i].needle) != NULL, "metadata case %zu: '%s'", i,
                  err.message);
        if (status == MNET_OK) {
            if (cases[i].pairs[6] && strcmp(cases[i].pairs[6], "mnet.provenance") == 0) {
                CHECK(strcmp(c.provenance, provenance) == 0);
                CHECK(strcmp(c.quantization, quantization) == 0);
            }
            mnet_model_config_free(&c);
        }
    }
    mnet_model_config c;
    CHECK(mnet_model_config_parse(NULL, &c, NULL) == MNET_ERR_INVALID_ARGUMENT);
    CHECK(is_zeroed(&c));
}

/* Random valid configs come back field by field. */
static void test_random_configs(void) {
    test_rng rng = {777};
    for (int round = 0; round < 200; round++) {
        int v2 = test_rng_int(&rng, 0, 1);
        float dm = (float)test_rng_int(&rng, 1, 400) / 100.0f;
        int h = test_rng_int(&rng, 1, MNET_MAX_INPUT_SIDE), w = test_rng_int(&rng, 1, 300);
        int bgr = test_rng_int(&rng, 0, 1), fit = test_rng_int(&rng, 0, 2);
        float crop = (float)test_rng_int(&rng, 1, 1000) / 1000.0f;
        float mean[3], std[3];
        for (int i = 0; i < 3; i++) {
            mean[i] = (float)test_rng_int(&rng, -4000, 4000) / 16.0f;
            std[i] = (float)test_rng_int(&rng, 1, 4000) / 16.0f * (test_rng_int(&rng, 0, 1) ? 1 : -1);
        }
        int classes = test_rng_int(&rng, 0, 40);
        int last = test_rng_int(&rng, -1, 3000); /* -1: absent */
        static const char *fits[] = {"center_crop", "stretch", "letterbox"};
        char text[2048];
        int n = snprintf(text, sizeof text,
                         "{\"num_classes\": %d, \"architecture\": \"mobilenet_v%d\","
                         " \"depth_multiplier\": %.2f, \"padding\": \"%s\","
                         " \"preprocess\": {\"crop_fraction\": %.3f, \"fit\": \"%s\"},"
                         " \"input\": {\"width\": %d, \"height\": %d, \"color\": \"%s\","
                         " \"mean\": [%.4f, %.4f, %.4f], \"std\": [%.4f, %.4f, %.4f]}",
                         classes, v2 + 1, dm, round % 2 ? "tf_same" : "symmetric", crop, fits[fit], w,
                         h, bgr ? "bgr" : "rgb", mean[0], mean[1], mean[2], std[0], std[1], std[2]);
        if (v2 && last >= 0) n += snprintf(text + n, sizeof text - (size_t)n, ", \"last_channels\": %d", last);
        snprintf(text + n, sizeof text - (size_t)n, "}");
        char *labels = NULL;
        if (classes > 0 && test_rng_int(&rng, 0, 3)) {
            labels = malloc((size_t)classes * 16 + 8);
            size_t k = (size_t)sprintf(labels, "[");
            for (int i = 0; i < classes; i++) k += (size_t)sprintf(labels + k, "%s\"c%d\"", i ? "," : "", i * 7);
            sprintf(labels + k, "]");
        }
        mnet_model_config c;
        mnet_error err;
        mnet_status status = parse_config(text, labels, &c, &err);
        CHECK_MSG(status == MNET_OK, "%s: %s", text, err.message);
        if (status == MNET_OK) {
            CHECK(c.arch == (v2 ? MNET_ARCH_MOBILENET_V2 : MNET_ARCH_MOBILENET_V1));
            CHECK(fabsf(c.depth_multiplier - dm) < 1e-6f);
            CHECK(c.input_h == h && c.input_w == w && c.bgr == bgr);
            CHECK(c.padding == (round % 2 ? MNET_PAD_TF_SAME : MNET_PAD_SYMMETRIC));
            CHECK(c.fit == (mnet_fit)(MNET_FIT_CENTER_CROP + fit));
            CHECK(fabsf(c.crop_fraction - crop) < 1e-6f);
            for (int i = 0; i < 3; i++) CHECK(c.mean[i] == mean[i] && c.std[i] == std[i]);
            CHECK(c.num_classes == classes);
            CHECK(c.num_labels == (labels ? classes : 0));
            for (int i = 0; i < c.num_labels; i++) {
                char expected[16];
                sprintf(expected, "c%d", i * 7);
                CHECK(strcmp(c.labels[i], expected) == 0);
            }
            int expected_last = 0;
            if (v2) {
                double scaled = 1280.0 * (double)c.depth_multiplier;
                int divisible = (int)(scaled + 4.0) / 8 * 8;
                if (divisible < 8) divisible = 8;
                if (divisible < 0.9 * scaled) divisible += 8;
                expected_last = last >= 0 ? last : (c.depth_multiplier <= 1.0f ? 1280 : divisible);
            }
            CHECK_MSG(c.last_channels == expected_last, "dm %g: last %d vs %d", dm, c.last_channels,
                      expected_last);
            mnet_model_config_free(&c);
        }
        free(labels);
    }
}

int main(void) {
    test_base_config();
    test_defaults();
    test_channels();
    test_bad_fields();
    test_metadata();
    test_random_configs();
    TEST_MAIN_END();
}
