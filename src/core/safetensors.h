/* safetensors reader: maps (or borrows) the file, parses and validates the
 * header, and exposes tensors by name plus the __metadata__ strings. */
#ifndef MNET_CORE_SAFETENSORS_H
#define MNET_CORE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum mnet_dtype {
    MNET_DTYPE_F32 = 0,
    MNET_DTYPE_F16,
    MNET_DTYPE_I8,
    MNET_DTYPE_U8,
    MNET_DTYPE_I32
} mnet_dtype;

#define MNET_ST_MAX_RANK 8
/* Header larger than this is rejected before it is read. */
#define MNET_ST_MAX_HEADER_BYTES ((uint64_t)100 << 20)

typedef struct mnet_st_tensor {
    const char *name;
    mnet_dtype dtype;
    int rank;
    int64_t shape[MNET_ST_MAX_RANK];
    int64_t count;        /* product of shape */
    const void *data;     /* inside the mapping; may be unaligned */
    size_t nbytes;
} mnet_st_tensor;

typedef struct mnet_safetensors mnet_safetensors;

/* path must name a regular file (a FIFO, device or directory is rejected
 * without blocking). */
mnet_status mnet_st_open_file(const char *path, mnet_safetensors **st, mnet_error *error);
/* data must outlive the returned object. */
mnet_status mnet_st_open_memory(const void *data, size_t size, mnet_safetensors **st,
                                mnet_error *error);
void mnet_st_close(mnet_safetensors *st);

size_t mnet_st_tensor_count(const mnet_safetensors *st);
const mnet_st_tensor *mnet_st_tensor_at(const mnet_safetensors *st, size_t index);
/* NULL when absent. */
const mnet_st_tensor *mnet_st_find(const mnet_safetensors *st, const char *name);
/* Value of a __metadata__ key, NULL when absent. */
const char *mnet_st_metadata(const mnet_safetensors *st, const char *key);

const char *mnet_dtype_name(mnet_dtype dtype); /* "F32", "F16", ... */
size_t mnet_dtype_size(mnet_dtype dtype);

/* Converts count elements of an F32 or F16 tensor to float (any alignment).
 * Returns MNET_ERR_MODEL (with the tensor name) for other dtypes. */
mnet_status mnet_st_read_f32(const mnet_st_tensor *tensor, float *out, mnet_error *error);

float mnet_half_to_float(uint16_t h);

#endif
