/* libFuzzer entry point for the model loader: safetensors header parsing
 * and the mnet metadata config. Built only by the fuzz target:
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *         tests/fuzz/fuzz_safetensors.c src/core/[a-z_]*.c -lm
 * Every exposed tensor byte is read so out-of-range offsets show up. */
#include <stdint.h>
#include <stdlib.h>

#include "core/model_config.h"
#include "core/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mnet_safetensors *st = NULL;
    mnet_error error;
    if (mnet_st_open_memory(data, size, &st, &error) != MNET_OK) return 0;
    unsigned checksum = 0;
    for (size_t i = 0; i < mnet_st_tensor_count(st); i++) {
        const mnet_st_tensor *t = mnet_st_tensor_at(st, i);
        const uint8_t *bytes = t->data;
        for (size_t k = 0; k < t->nbytes; k++) checksum += bytes[k];
        if ((t->dtype == MNET_DTYPE_F32 || t->dtype == MNET_DTYPE_F16) && t->count < (1 << 20)) {
            float *values = malloc(sizeof(float) * (size_t)t->count + 1);
            if (values) mnet_st_read_f32(t, values, &error);
            free(values);
        }
        if (mnet_st_find(st, t->name) != t) abort();
    }
    mnet_model_config config;
    if (mnet_model_config_parse(st, &config, &error) == MNET_OK) mnet_model_config_free(&config);
    mnet_st_close(st);
    return (int)(checksum & 0);
}
