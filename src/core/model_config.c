/* Reads and validates the mnet metadata of a model file
 * (docs/MODEL_FORMAT.md). Every field is checked for type and range here, so
 * model builders can trust the config; messages name the offending field. */
#include "core/model_config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/channels.h"
#include "core/config_fields.h"
#include "core/json.h"

#define MAX_LAST_CHANNELS 65536

const char *mnet_arch_name(mnet_arch arch) {
    switch (arch) {
    case MNET_ARCH_MOBILENET_V1: return "mobilenet_v1";
    case MNET_ARCH_MOBILENET_V2: return "mobilenet_v2";
    case MNET_ARCH_SSD: return "ssd";
    case MNET_ARCH_DEEPLAB_V3: return "deeplabv3";
    }
    return "unknown";
}

static char *copy_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy) memcpy(copy, s, n);
    return copy;
}

static mnet_status read_architecture(const mnet_json *config, mnet_arch *arch,
                                     mnet_arch *backbone, mnet_error *error) {
    const mnet_json *node = mnet_json_get(config, "architecture");
    if (!node) return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: 'architecture' missing");
    const char *name = mnet_json_string(node);
    if (!name) return mnet_cfg_bad_field(error, "architecture", "a string");
    if (strcmp(name, "mobilenet_v1") == 0) *arch = MNET_ARCH_MOBILENET_V1;
    else if (strcmp(name, "mobilenet_v2") == 0) *arch = MNET_ARCH_MOBILENET_V2;
    else if (strcmp(name, "ssd") == 0) *arch = MNET_ARCH_SSD;
    else if (strcmp(name, "deeplabv3") == 0) *arch = MNET_ARCH_DEEPLAB_V3;
    else if (strncmp(name, "deeplab", 7) == 0 || strcmp(name, "mobilenet_v3") == 0)
        return mnet_fail(error, MNET_ERR_UNSUPPORTED,
                         "mnet.config: architecture \"%s\" is not supported by this build", name);
    else
        return mnet_fail(error, MNET_ERR_MODEL,
                         "mnet.config: 'architecture' must be \"mobilenet_v1\", "
                         "\"mobilenet_v2\", \"ssd\" or \"deeplabv3\", found \"%.64s\"",
                         name);
    *backbone = *arch;
    if (*arch == MNET_ARCH_SSD || *arch == MNET_ARCH_DEEPLAB_V3) {
        static const char *const backbones[] = {"mobilenet_v1", "mobilenet_v2", NULL};
        int which = 0;
        if (!mnet_json_get(config, "backbone"))
            return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: 'backbone' missing");
        mnet_status st = mnet_cfg_read_choice(config, "backbone", "backbone", backbones, 0,
                                              &which, error);
        if (st != MNET_OK) return st;
        *backbone = which == 0 ? MNET_ARCH_MOBILENET_V1 : MNET_ARCH_MOBILENET_V2;
        if (*arch == MNET_ARCH_DEEPLAB_V3 && *backbone != MNET_ARCH_MOBILENET_V2)
            return mnet_fail(error, MNET_ERR_UNSUPPORTED,
                             "mnet.config: DeepLab is implemented on a mobilenet_v2 backbone only");
    }
    return MNET_OK;
}

static mnet_status read_last_channels(const mnet_json *config, mnet_model_config *c,
                                      mnet_error *error) {
    const mnet_json *node = mnet_json_get(config, "last_channels");
    if (c->backbone != MNET_ARCH_MOBILENET_V2) {
        if (node)
            return mnet_fail(error, MNET_ERR_MODEL,
                             "mnet.config: 'last_channels' applies to mobilenet_v2 only");
        c->last_channels = 0;
        return MNET_OK;
    }
    int fallback = c->depth_multiplier <= 1.0f
                       ? 1280
                       : mnet_make_divisible(1280.0f * c->depth_multiplier, 8);
    return mnet_cfg_read_int(config, "last_channels", "last_channels", 0, 0, MAX_LAST_CHANNELS, fallback,
                    &c->last_channels, error);
}

static mnet_status read_input(const mnet_json *config, mnet_model_config *c, mnet_error *error) {
    const mnet_json *input;
    mnet_status st = mnet_cfg_optional_object(config, "input", &input, error);
    if (st != MNET_OK) return st;
    if (!input) return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: 'input' missing");
    st = mnet_cfg_read_int(input, "height", "input.height", 1, 1, MNET_MAX_INPUT_SIDE, 0, &c->input_h,
                  error);
    if (st == MNET_OK)
        st = mnet_cfg_read_int(input, "width", "input.width", 1, 1, MNET_MAX_INPUT_SIDE, 0, &c->input_w,
                      error);
    if (st == MNET_OK)
        st = mnet_cfg_read_int(input, "channels", "input.channels", 0, 3, 3, 3, &c->input_c, error);
    if (st != MNET_OK) return st;
    static const char *const colors[] = {"rgb", "bgr", NULL};
    st = mnet_cfg_read_choice(input, "color", "input.color", colors, 0, &c->bgr, error);
    if (st == MNET_OK) st = mnet_cfg_read_triplet(input, "mean", "input.mean", 0, 127.5f, c->mean, error);
    if (st == MNET_OK) st = mnet_cfg_read_triplet(input, "std", "input.std", 1, 127.5f, c->std, error);
    return st;
}

static mnet_status read_preprocess(const mnet_json *config, mnet_model_config *c,
                                   mnet_error *error) {
    const mnet_json *preprocess;
    mnet_status st = mnet_cfg_optional_object(config, "preprocess", &preprocess, error);
    if (st != MNET_OK) return st;
    static const char *const fits[] = {"center_crop", "stretch", "letterbox", NULL};
    static const mnet_fit fit_values[] = {MNET_FIT_CENTER_CROP, MNET_FIT_STRETCH,
                                          MNET_FIT_LETTERBOX};
    int fit = 0;
    st = mnet_cfg_read_choice(preprocess, "fit", "preprocess.fit", fits, 0, &fit, error);
    if (st != MNET_OK) return st;
    c->fit = fit_values[fit];
    st = mnet_cfg_read_half_open(preprocess, "crop_fraction", "preprocess.crop_fraction", 0, 0.0,
                                 1.0, 0.875f, &c->crop_fraction, error);
    if (st == MNET_OK)
        st = mnet_cfg_read_triplet(preprocess, "fill", "preprocess.fill", 0, 0.0f, c->fill, error);
    for (int i = 0; st == MNET_OK && i < 3; i++)
        if (c->fill[i] < 0.0f || c->fill[i] > 255.0f)
            st = mnet_cfg_bad_field(error, "preprocess.fill", "values in 0..255");
    return st;
}

/* The metadata value `key` (text) parsed as JSON; a failure's message
 * starts with "<key>: ". */
static mnet_status parse_metadata_json(const char *key, const char *text, mnet_json_doc **doc,
                                       mnet_error *error) {
    mnet_status st = mnet_json_parse(text, strlen(text), doc, error);
    if (st != MNET_OK) mnet_error_prefix(error, "%s: ", key);
    return st;
}

static mnet_status read_config(const char *text, mnet_model_config *c, mnet_error *error) {
    mnet_json_doc *doc;
    mnet_status st = parse_metadata_json("mnet.config", text, &doc, error);
    if (st != MNET_OK) return st;
    const mnet_json *config = mnet_json_root(doc);
    if (mnet_json_type_of(config) != MNET_JSON_OBJECT) {
        mnet_json_free(doc);
        return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: not a JSON object");
    }
    st = read_architecture(config, &c->arch, &c->backbone, error);

    const mnet_json *name = mnet_json_get(config, "name");
    if (st == MNET_OK && name && !mnet_json_string(name)) st = mnet_cfg_bad_field(error, "name", "a string");
    if (st == MNET_OK) {
        c->name = copy_string(name ? mnet_json_string(name) : "");
        if (!c->name) st = mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "mnet.config: out of memory");
    }
    if (st == MNET_OK)
        st = mnet_cfg_read_half_open(config, "depth_multiplier", "depth_multiplier", 1, 0.0, 4.0, 1.0f,
                            &c->depth_multiplier, error);
    if (st == MNET_OK) st = read_last_channels(config, c, error);
    if (st == MNET_OK) {
        static const char *const paddings[] = {"tf_same", "symmetric", NULL};
        static const mnet_padding padding_values[] = {MNET_PAD_TF_SAME, MNET_PAD_SYMMETRIC};
        int padding = 0;
        st = mnet_cfg_read_choice(config, "padding", "padding", paddings, 0, &padding, error);
        c->padding = padding_values[padding];
    }
    if (st == MNET_OK) st = read_input(config, c, error);
    if (st == MNET_OK) st = read_preprocess(config, c, error);
    if (st == MNET_OK)
        st = mnet_cfg_read_int(config, "num_classes", "num_classes", 0, 0, MNET_MAX_CLASSES, 0,
                      &c->num_classes, error);
    c->output_stride = 32;
    if (st == MNET_OK)
        st = mnet_cfg_read_int(config, "divisible_by", "divisible_by", 0, 1, 64, 8,
                               &c->divisible_by, error);
    if (st == MNET_OK && c->arch == MNET_ARCH_SSD) st = mnet_ssd_config_parse(config, c, error);
    if (st == MNET_OK && c->arch == MNET_ARCH_DEEPLAB_V3)
        st = mnet_deeplab_config_parse(config, c, error);
    mnet_json_free(doc);
    return st;
}

/* Labels go into one block: the pointer array followed by the strings. */
static mnet_status read_labels(const char *text, mnet_model_config *c, mnet_error *error) {
    mnet_json_doc *doc;
    mnet_status st = parse_metadata_json("mnet.labels", text, &doc, error);
    if (st != MNET_OK) return st;
    const mnet_json *labels = mnet_json_root(doc);
    size_t count = mnet_json_size(labels);
    size_t bytes = 0;
    if (mnet_json_type_of(labels) != MNET_JSON_ARRAY) {
        st = mnet_fail(error, MNET_ERR_MODEL, "mnet.labels: not a JSON array");
    } else if (count != (size_t)c->num_classes) {
        st = mnet_fail(error, MNET_ERR_MODEL,
                       "mnet.labels: %zu labels but num_classes is %d", count, c->num_classes);
    }
    for (size_t i = 0; st == MNET_OK && i < count; i++) {
        const mnet_json *label = mnet_json_at(labels, i);
        const char *s = mnet_json_string(label);
        size_t length = mnet_json_string_length(label);
        if (!s)
            st = mnet_fail(error, MNET_ERR_MODEL, "mnet.labels: label %zu is not a string", i);
        else if (length > MNET_MAX_LABEL_BYTES)
            st = mnet_fail(error, MNET_ERR_MODEL,
                           "mnet.labels: label %zu has %zu bytes, above %d", i, length,
                           MNET_MAX_LABEL_BYTES);
        else if (strlen(s) != length)
            st = mnet_fail(error, MNET_ERR_MODEL, "mnet.labels: label %zu contains a NUL", i);
        bytes += length + 1;
    }
    if (st == MNET_OK && count > 0) {
        char **block = malloc(count * sizeof(char *) + bytes);
        if (!block) {
            st = mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "mnet.labels: out of memory");
        } else {
            char *chars = (char *)(block + count);
            for (size_t i = 0; i < count; i++) {
                const mnet_json *label = mnet_json_at(labels, i);
                size_t n = mnet_json_string_length(label) + 1;
                memcpy(chars, mnet_json_string(label), n);
                block[i] = chars;
                chars += n;
            }
            c->labels = block;
            c->num_labels = (int)count;
        }
    }
    mnet_json_free(doc);
    return st;
}

/* provenance / quantization: kept verbatim once known to be a JSON object. */
static mnet_status read_object_text(const char *key, const char *text, char **out,
                                    mnet_error *error) {
    mnet_json_doc *doc;
    mnet_status st = parse_metadata_json(key, text, &doc, error);
    if (st != MNET_OK) return st;
    int is_object = mnet_json_type_of(mnet_json_root(doc)) == MNET_JSON_OBJECT;
    mnet_json_free(doc);
    if (!is_object) return mnet_fail(error, MNET_ERR_MODEL, "%s: not a JSON object", key);
    *out = copy_string(text);
    if (!*out) return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "%s: out of memory", key);
    return MNET_OK;
}

static mnet_status parse_all(const mnet_safetensors *st, mnet_model_config *c,
                             mnet_error *error) {
    const char *format = mnet_st_metadata(st, "format");
    if (!format)
        return mnet_fail(error, MNET_ERR_MODEL,
                         "metadata key 'format' missing: not an mnet model file");
    if (strcmp(format, "mnet") != 0)
        return mnet_fail(error, MNET_ERR_MODEL, "metadata 'format' is \"%.64s\", expected \"mnet\"",
                         format);
    const char *version = mnet_st_metadata(st, "mnet.format_version");
    if (!version) return mnet_fail(error, MNET_ERR_MODEL, "metadata key 'mnet.format_version' missing");
    if (strcmp(version, "1") != 0)
        return mnet_fail(error, MNET_ERR_UNSUPPORTED,
                         "mnet.format_version \"%.64s\" not supported (this build reads \"1\")",
                         version);
    const char *config = mnet_st_metadata(st, "mnet.config");
    if (!config) return mnet_fail(error, MNET_ERR_MODEL, "metadata key 'mnet.config' missing");

    mnet_status status = read_config(config, c, error);
    if (status != MNET_OK) return status;

    const char *labels = mnet_st_metadata(st, "mnet.labels");
    if (labels) {
        status = read_labels(labels, c, error);
        if (status != MNET_OK) return status;
    }
    const char *provenance = mnet_st_metadata(st, "mnet.provenance");
    if (provenance) status = read_object_text("mnet.provenance", provenance, &c->provenance, error);
    else if (!(c->provenance = copy_string("")))
        status = mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "mnet.provenance: out of memory");
    if (status != MNET_OK) return status;

    const char *quantization = mnet_st_metadata(st, "mnet.quantization");
    if (quantization)
        status = read_object_text("mnet.quantization", quantization, &c->quantization, error);
    return status;
}

mnet_status mnet_model_config_parse(const mnet_safetensors *st, mnet_model_config *config,
                                    mnet_error *error) {
    if (!config)
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "mnet_model_config_parse: config is NULL");
    memset(config, 0, sizeof *config);
    if (!st)
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "mnet_model_config_parse: st is NULL");
    mnet_status status = parse_all(st, config, error);
    if (status != MNET_OK) mnet_model_config_free(config);
    return status;
}

void mnet_model_config_free(mnet_model_config *config) {
    if (!config) return;
    free(config->name);
    free(config->labels);
    free(config->provenance);
    free(config->quantization);
    memset(config, 0, sizeof *config);
}
