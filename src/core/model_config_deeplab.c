/* "output_stride" and the "deeplab" object of a DeepLab model's config:
 * ASPP form, atrous rates, activation, resize convention and the optional
 * v3+ decoder (docs/MODEL_FORMAT.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/config_fields.h"
#include "core/model_config.h"

static mnet_status read_bool(const mnet_json *object, const char *key, const char *field,
                             int fallback, int *out, mnet_error *error) {
    const mnet_json *node = mnet_json_get(object, key);
    if (!node) {
        *out = fallback;
        return MNET_OK;
    }
    mnet_json_type t = mnet_json_type_of(node);
    if (t != MNET_JSON_TRUE && t != MNET_JSON_FALSE)
        return mnet_cfg_bad_field(error, field, "true or false");
    *out = t == MNET_JSON_TRUE;
    return MNET_OK;
}

static mnet_status read_decoder(const mnet_json *deeplab, mnet_deeplab_config *d,
                                mnet_error *error) {
    const mnet_json *dec = mnet_json_get(deeplab, "decoder");
    if (!dec || mnet_json_type_of(dec) == MNET_JSON_NULL) return MNET_OK;
    if (mnet_json_type_of(dec) != MNET_JSON_OBJECT)
        return mnet_cfg_bad_field(error, "deeplab.decoder", "null or an object");
    d->has_decoder = 1;
    const char *tap = mnet_json_string(mnet_json_get(dec, "low_level_tap"));
    if (!tap || !tap[0] || strlen(tap) >= MNET_TAP_NAME_MAX)
        return mnet_cfg_bad_field(error, "deeplab.decoder.low_level_tap", "a tap name");
    snprintf(d->low_level_tap, sizeof d->low_level_tap, "%s", tap);
    mnet_status st = mnet_cfg_read_int(dec, "low_level_channels", "deeplab.decoder.low_level_channels",
                                       0, 1, 65536, 48, &d->low_level_channels, error);
    if (st == MNET_OK)
        st = mnet_cfg_read_int(dec, "channels", "deeplab.decoder.channels", 0, 1, 65536, 256,
                               &d->decoder_channels, error);
    if (st == MNET_OK) {
        static const char *const orders[] = {"aspp_first", "low_level_first", NULL};
        st = mnet_cfg_read_choice(dec, "concat", "deeplab.decoder.concat", orders, 0,
                                  &d->low_level_first, error);
    }
    return st;
}

mnet_status mnet_deeplab_config_parse(const mnet_json *config, mnet_model_config *c,
                                      mnet_error *error) {
    mnet_status st = mnet_cfg_read_int(config, "output_stride", "output_stride", 0, 8, 32, 32,
                                       &c->output_stride, error);
    if (st != MNET_OK) return st;
    if (c->output_stride != 8 && c->output_stride != 16 && c->output_stride != 32)
        return mnet_cfg_bad_field(error, "output_stride", "8, 16 or 32");
    if (c->num_classes < 1 || c->num_classes > 255)
        return mnet_fail(error, MNET_ERR_MODEL,
                         "mnet.config: a DeepLab needs 'num_classes' in 1..255 (8-bit masks), "
                         "found %d",
                         c->num_classes);
    const mnet_json *deeplab;
    st = mnet_cfg_optional_object(config, "deeplab", &deeplab, error);
    if (st != MNET_OK) return st;
    mnet_deeplab_config *d = &c->deeplab;
    static const char *const forms[] = {"mobile", "full", NULL};
    st = mnet_cfg_read_choice(deeplab, "aspp", "deeplab.aspp", forms, 0, &d->full_aspp, error);
    if (st == MNET_OK)
        st = mnet_cfg_read_int(deeplab, "aspp_channels", "deeplab.aspp_channels", 0, 1, 65536, 256,
                               &d->aspp_channels, error);
    const mnet_json *rates = mnet_json_get(deeplab, "atrous_rates");
    if (st == MNET_OK && rates) {
        size_t n = mnet_json_size(rates);
        if (mnet_json_type_of(rates) != MNET_JSON_ARRAY || n > MNET_DEEPLAB_MAX_RATES)
            return mnet_cfg_bad_field(error, "deeplab.atrous_rates", "an array of at most 4 integers");
        for (size_t i = 0; i < n; i++) {
            int ok;
            double v = mnet_json_number(mnet_json_at(rates, i), &ok);
            if (!ok || v != floor(v) || v < 1 || v > 256)
                return mnet_cfg_bad_field(error, "deeplab.atrous_rates", "integers in 1..256");
            d->atrous_rates[i] = (int)v;
        }
        d->num_rates = (int)n;
    }
    if (st == MNET_OK && d->full_aspp && d->num_rates == 0)
        return mnet_fail(error, MNET_ERR_MODEL,
                         "mnet.config: 'deeplab.atrous_rates' is needed for the full ASPP");
    if (st == MNET_OK) st = read_bool(deeplab, "separable", "deeplab.separable", 0, &d->separable, error);
    if (st == MNET_OK) {
        static const char *const acts[] = {"relu", "relu6", NULL};
        int a = 0;
        st = mnet_cfg_read_choice(deeplab, "activation", "deeplab.activation", acts, 0, &a, error);
        d->activation = a ? MNET_ACT_RELU6 : MNET_ACT_RELU;
    }
    if (st == MNET_OK)
        st = read_bool(deeplab, "align_corners", "deeplab.align_corners", 1, &d->align_corners,
                       error);
    if (st == MNET_OK) st = read_decoder(deeplab, d, error);
    return st;
}
