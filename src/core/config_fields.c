/* Typed, range-checked reads of mnet.config fields, shared by the parsers
 * of the different architectures' configs. Every failure names the field. */
#include "core/config_fields.h"

#include <math.h>
#include <string.h>

mnet_status mnet_cfg_bad_field(mnet_error *error, const char *field, const char *expected) {
    return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: '%s' must be %s", field, expected);
}

/* An integer field in [lo, hi]; fallback used when absent and not required. */
mnet_status mnet_cfg_read_int(const mnet_json *object, const char *key, const char *field,
                            int required, int lo, int hi, int fallback, int *out,
                            mnet_error *error) {
    const mnet_json *node = mnet_json_get(object, key);
    if (!node) {
        if (required) return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: '%s' missing", field);
        *out = fallback;
        return MNET_OK;
    }
    int ok;
    double v = mnet_json_number(node, &ok);
    if (!ok || floor(v) != v || v < lo || v > hi) {
        if (ok)
            return mnet_fail(error, MNET_ERR_MODEL,
                             "mnet.config: '%s' must be an integer in %d..%d, found %g", field, lo,
                             hi, v);
        return mnet_cfg_bad_field(error, field, "an integer");
    }
    *out = (int)v;
    return MNET_OK;
}

/* One of `choices` (NULL-terminated); *out is its index. */
mnet_status mnet_cfg_read_choice(const mnet_json *object, const char *key, const char *field,
                               const char *const *choices, int fallback, int *out,
                               mnet_error *error) {
    const mnet_json *node = mnet_json_get(object, key);
    if (!node) {
        *out = fallback;
        return MNET_OK;
    }
    const char *value = mnet_json_string(node);
    if (value)
        for (int i = 0; choices[i]; i++)
            if (strcmp(value, choices[i]) == 0) {
                *out = i;
                return MNET_OK;
            }
    char expected[160] = "one of";
    for (int i = 0; choices[i]; i++) {
        size_t used = strlen(expected);
        if (used + strlen(choices[i]) + 4 >= sizeof expected) break;
        strcat(expected, i ? ", \"" : " \"");
        strcat(expected, choices[i]);
        strcat(expected, "\"");
    }
    if (value)
        return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: '%s' must be %s, found \"%.64s\"",
                         field, expected, value);
    return mnet_cfg_bad_field(error, field, expected);
}

/* mean / std: a number for all channels or an array of three. */
mnet_status mnet_cfg_read_triplet(const mnet_json *object, const char *key, const char *field,
                                int nonzero, float fallback, float out[3], mnet_error *error) {
    const mnet_json *node = mnet_json_get(object, key);
    const char *expected = nonzero ? "a non-zero finite number or an array of 3 of them"
                                   : "a finite number or an array of 3 of them";
    if (!node) {
        out[0] = out[1] = out[2] = fallback;
        return MNET_OK;
    }
    int is_array = mnet_json_type_of(node) == MNET_JSON_ARRAY;
    if (is_array && mnet_json_size(node) != 3) return mnet_cfg_bad_field(error, field, expected);
    for (size_t i = 0; i < 3; i++) {
        int ok;
        double v = mnet_json_number(is_array ? mnet_json_at(node, i) : node, &ok);
        if (!ok || !isfinite(v) || fabs(v) > 1e30 || (nonzero && (float)v == 0.0f))
            return mnet_cfg_bad_field(error, field, expected);
        out[i] = (float)v;
    }
    return MNET_OK;
}

/* A number in (lo, hi]. */
mnet_status mnet_cfg_read_half_open(const mnet_json *object, const char *key, const char *field,
                                  int required, double lo, double hi, float fallback, float *out,
                                  mnet_error *error) {
    const mnet_json *node = mnet_json_get(object, key);
    if (!node) {
        if (required) return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: '%s' missing", field);
        *out = fallback;
        return MNET_OK;
    }
    int ok;
    double v = mnet_json_number(node, &ok);
    if (!ok || !(v > lo && v <= hi) || !((float)v > (float)lo)) {
        if (ok)
            return mnet_fail(error, MNET_ERR_MODEL,
                             "mnet.config: '%s' must be in (%g, %g], found %g", field, lo, hi, v);
        return mnet_cfg_bad_field(error, field, "a number");
    }
    *out = (float)v;
    return MNET_OK;
}

/* An optional object member; absent is fine, another type is not. */
mnet_status mnet_cfg_optional_object(const mnet_json *object, const char *key,
                                   const mnet_json **out, mnet_error *error) {
    *out = mnet_json_get(object, key);
    if (*out && mnet_json_type_of(*out) != MNET_JSON_OBJECT)
        return mnet_cfg_bad_field(error, key, "a JSON object");
    return MNET_OK;
}

