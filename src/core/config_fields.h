/* Typed, range-checked reads of mnet.config fields. `field` is the dotted
 * name used in messages ("input.height"); absent optional fields take the
 * fallback. */
#ifndef MNET_CORE_CONFIG_FIELDS_H
#define MNET_CORE_CONFIG_FIELDS_H

#include "core/error.h"
#include "core/json.h"

mnet_status mnet_cfg_bad_field(mnet_error *error, const char *field, const char *expected);
/* An integer in [lo, hi]. */
mnet_status mnet_cfg_read_int(const mnet_json *object, const char *key, const char *field,
                              int required, int lo, int hi, int fallback, int *out,
                              mnet_error *error);
/* One of `choices` (NULL-terminated); *out is its index. */
mnet_status mnet_cfg_read_choice(const mnet_json *object, const char *key, const char *field,
                                 const char *const *choices, int fallback, int *out,
                                 mnet_error *error);
/* A number for all three channels or an array of three. */
mnet_status mnet_cfg_read_triplet(const mnet_json *object, const char *key, const char *field,
                                  int nonzero, float fallback, float out[3], mnet_error *error);
/* A number in (lo, hi]. */
mnet_status mnet_cfg_read_half_open(const mnet_json *object, const char *key, const char *field,
                                    int required, double lo, double hi, float fallback,
                                    float *out, mnet_error *error);
/* An optional object member; absent is fine, another type is not. */
mnet_status mnet_cfg_optional_object(const mnet_json *object, const char *key,
                                     const mnet_json **out, mnet_error *error);

#endif
