/* safetensors reader (docs/MODEL_FORMAT.md): u64 LE header length, JSON
 * header, raw bytes. Everything in the header is checked before any tensor
 * is exposed, so the rest of the library can trust ranges and sizes. The
 * strings (tensor names, metadata) live in the parsed header document, which
 * this object owns. */
#define _POSIX_C_SOURCE 200809L

#include "core/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"

struct mnet_safetensors {
    void *mapping; /* NULL when the bytes are borrowed */
    size_t mapping_size;
    mnet_json_doc *header;
    const mnet_json *metadata; /* first __metadata__ object, or NULL */
    mnet_st_tensor *tensors;   /* in header order */
    size_t count;
    const mnet_st_tensor **by_name; /* sorted by strcmp for lookup */
};

/* Offsets and sizes above this cannot be represented exactly by a JSON
 * number (a double), so they are rejected as malformed. */
#define MAX_EXACT_INTEGER ((double)((uint64_t)1 << 53))

const char *mnet_dtype_name(mnet_dtype dtype) {
    switch (dtype) {
    case MNET_DTYPE_F32: return "F32";
    case MNET_DTYPE_F16: return "F16";
    case MNET_DTYPE_I8: return "I8";
    case MNET_DTYPE_U8: return "U8";
    case MNET_DTYPE_I32: return "I32";
    }
    return "?";
}

size_t mnet_dtype_size(mnet_dtype dtype) {
    switch (dtype) {
    case MNET_DTYPE_F32: return 4;
    case MNET_DTYPE_F16: return 2;
    case MNET_DTYPE_I8: return 1;
    case MNET_DTYPE_U8: return 1;
    case MNET_DTYPE_I32: return 4;
    }
    return 0;
}

static int dtype_from_name(const char *name, mnet_dtype *dtype) {
    static const mnet_dtype all[] = {MNET_DTYPE_F32, MNET_DTYPE_F16, MNET_DTYPE_I8,
                                     MNET_DTYPE_U8, MNET_DTYPE_I32};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, mnet_dtype_name(all[i])) == 0) {
            *dtype = all[i];
            return 1;
        }
    return 0;
}

/* dtypes valid in safetensors that this library does not read. */
static int is_other_safetensors_dtype(const char *name) {
    static const char *const others[] = {"BOOL", "U16", "I16", "U32", "U64", "I64",
                                         "F64", "BF16", "F8_E4M3", "F8_E5M2"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        if (strcmp(name, others[i]) == 0) return 1;
    return 0;
}

/* A JSON number that is an integer in [0, 2^53]. */
static int get_count(const mnet_json *node, uint64_t *out) {
    int ok;
    double v = mnet_json_number(node, &ok);
    if (!ok || !(v >= 0.0) || v > MAX_EXACT_INTEGER || floor(v) != v) return 0;
    *out = (uint64_t)v;
    return 1;
}

static void format_shape(const mnet_st_tensor *t, char *buf, size_t size) {
    size_t used = 0;
    int n = snprintf(buf, size, "[");
    if (n > 0) used = (size_t)n;
    for (int i = 0; i < t->rank && used < size; i++) {
        n = snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        if (n > 0) used += (size_t)n;
    }
    if (used < size) snprintf(buf + used, size - used, "]");
}

static mnet_status check_metadata(const mnet_json *metadata, mnet_error *error) {
    if (mnet_json_type_of(metadata) != MNET_JSON_OBJECT)
        return mnet_fail(error, MNET_ERR_FORMAT, "__metadata__ is not a JSON object");
    for (size_t i = 0; i < mnet_json_size(metadata); i++) {
        const mnet_json *value = mnet_json_at(metadata, i);
        const char *key = mnet_json_key_at(metadata, i);
        if (mnet_json_type_of(value) != MNET_JSON_STRING)
            return mnet_fail(error, MNET_ERR_FORMAT,
                             "__metadata__ value of '%.200s' is not a string", key);
        if (strlen(mnet_json_string(value)) != mnet_json_string_length(value))
            return mnet_fail(error, MNET_ERR_FORMAT,
                             "__metadata__ value of '%.200s' contains a NUL character", key);
    }
    return MNET_OK;
}

/* Fills one tensor from its header entry and checks it against the data
 * buffer [data, data + data_size). */
static mnet_status parse_entry(const char *name, const mnet_json *entry,
                               const unsigned char *data, size_t data_size,
                               mnet_st_tensor *t, mnet_error *error) {
    memset(t, 0, sizeof *t);
    t->name = name;
    if (name[0] == '\0')
        return mnet_fail(error, MNET_ERR_FORMAT, "a tensor has an empty name");
    if (mnet_json_type_of(entry) != MNET_JSON_OBJECT)
        return mnet_fail(error, MNET_ERR_FORMAT, "tensor '%.200s': entry is not a JSON object",
                         name);

    const char *dtype = mnet_json_string(mnet_json_get(entry, "dtype"));
    if (!dtype)
        return mnet_fail(error, MNET_ERR_FORMAT, "tensor '%.200s': 'dtype' missing or not a string",
                         name);
    if (!dtype_from_name(dtype, &t->dtype))
        return mnet_fail(error,
                         is_other_safetensors_dtype(dtype) ? MNET_ERR_UNSUPPORTED : MNET_ERR_FORMAT,
                         "tensor '%.200s': dtype '%.32s' not accepted (F32, F16, I8, U8, I32)",
                         name, dtype);

    const mnet_json *shape = mnet_json_get(entry, "shape");
    if (mnet_json_type_of(shape) != MNET_JSON_ARRAY)
        return mnet_fail(error, MNET_ERR_FORMAT, "tensor '%.200s': 'shape' missing or not an array",
                         name);
    size_t rank = mnet_json_size(shape);
    if (rank > MNET_ST_MAX_RANK)
        return mnet_fail(error, MNET_ERR_FORMAT, "tensor '%.200s': rank %zu above %d", name, rank,
                         MNET_ST_MAX_RANK);
    t->rank = (int)rank;
    uint64_t count = 1;
    int overflow = 0;
    for (size_t i = 0; i < rank; i++) {
        uint64_t dim;
        if (!get_count(mnet_json_at(shape, i), &dim))
            return mnet_fail(error, MNET_ERR_FORMAT,
                             "tensor '%.200s': shape[%zu] is not an integer in [0, 2^53]", name, i);
        t->shape[i] = (int64_t)dim;
        if (dim != 0 && count > (uint64_t)INT64_MAX / dim) overflow = 1;
        else count *= dim;
    }
    /* A zero dimension makes the product 0 even after an overflowing prefix. */
    for (size_t i = 0; i < rank; i++)
        if (t->shape[i] == 0) {
            overflow = 0;
            count = 0;
        }
    char shape_text[160];
    format_shape(t, shape_text, sizeof shape_text);
    size_t element = mnet_dtype_size(t->dtype);
    if (overflow || count > SIZE_MAX / element)
        return mnet_fail(error, MNET_ERR_FORMAT, "tensor '%.200s': shape %s overflows", name,
                         shape_text);
    t->count = (int64_t)count;

    const mnet_json *offsets = mnet_json_get(entry, "data_offsets");
    uint64_t begin, end;
    if (mnet_json_type_of(offsets) != MNET_JSON_ARRAY || mnet_json_size(offsets) != 2 ||
        !get_count(mnet_json_at(offsets, 0), &begin) || !get_count(mnet_json_at(offsets, 1), &end))
        return mnet_fail(error, MNET_ERR_FORMAT,
                         "tensor '%.200s': 'data_offsets' must be two integers in [0, 2^53]", name);
    if (begin > end)
        return mnet_fail(error, MNET_ERR_FORMAT,
                         "tensor '%.200s': data_offsets [%llu, %llu] end before begin", name,
                         (unsigned long long)begin, (unsigned long long)end);
    if (end > data_size)
        return mnet_fail(error, MNET_ERR_FORMAT,
                         "tensor '%.200s': data_offsets [%llu, %llu] outside the %zu data bytes",
                         name, (unsigned long long)begin, (unsigned long long)end, data_size);
    uint64_t expected = count * element;
    if (end - begin != expected)
        return mnet_fail(error, MNET_ERR_FORMAT,
                         "tensor '%.200s': data_offsets [%llu, %llu] hold %llu bytes but shape %s "
                         "of %s needs %llu",
                         name, (unsigned long long)begin, (unsigned long long)end,
                         (unsigned long long)(end - begin), shape_text, dtype,
                         (unsigned long long)expected);
    t->data = data + begin;
    t->nbytes = (size_t)expected;
    return MNET_OK;
}

static int compare_by_begin(const void *a, const void *b) {
    const unsigned char *x = (*(const mnet_st_tensor *const *)a)->data;
    const unsigned char *y = (*(const mnet_st_tensor *const *)b)->data;
    return x < y ? -1 : x > y;
}

static int compare_by_name(const void *a, const void *b) {
    return strcmp((*(const mnet_st_tensor *const *)a)->name,
                  (*(const mnet_st_tensor *const *)b)->name);
}

/* Non-empty ranges must not share a byte; empty ones occupy nothing. */
static mnet_status check_overlaps(const mnet_st_tensor **order, size_t count,
                                  const unsigned char *data, mnet_error *error) {
    qsort(order, count, sizeof *order, compare_by_begin);
    const mnet_st_tensor *furthest = NULL;
    for (size_t i = 0; i < count; i++) {
        const mnet_st_tensor *t = order[i];
        if (t->nbytes == 0) continue;
        const unsigned char *begin = t->data;
        if (furthest && begin < (const unsigned char *)furthest->data + furthest->nbytes) {
            const unsigned char *fb = furthest->data;
            return mnet_fail(error, MNET_ERR_FORMAT,
                             "tensors '%.200s' [%zu, %zu] and '%.200s' [%zu, %zu] overlap",
                             furthest->name, (size_t)(fb - data),
                             (size_t)(fb - data) + furthest->nbytes, t->name,
                             (size_t)(begin - data), (size_t)(begin - data) + t->nbytes);
        }
        if (!furthest || begin + t->nbytes >
                             (const unsigned char *)furthest->data + furthest->nbytes)
            furthest = t;
    }
    return MNET_OK;
}

static mnet_status parse_header(mnet_safetensors *st, const unsigned char *bytes, size_t size,
                                mnet_error *error) {
    if (size < 8)
        return mnet_fail(error, MNET_ERR_FORMAT,
                         "file has %zu bytes, fewer than the 8-byte header length", size);
    uint64_t header_length = 0;
    for (int i = 7; i >= 0; i--) header_length = header_length << 8 | bytes[i];
    if (header_length > (uint64_t)(size - 8))
        return mnet_fail(error, MNET_ERR_FORMAT,
                         "header length %llu exceeds the %zu bytes after the length field",
                         (unsigned long long)header_length, size - 8);
    if (header_length > MNET_ST_MAX_HEADER_BYTES)
        return mnet_fail(error, MNET_ERR_LIMIT, "header length %llu above the limit of %llu bytes",
                         (unsigned long long)header_length,
                         (unsigned long long)MNET_ST_MAX_HEADER_BYTES);
    const char *text = (const char *)bytes + 8;
    const unsigned char *data = bytes + 8 + header_length;
    size_t data_size = size - 8 - (size_t)header_length;

    mnet_status status = mnet_json_parse(text, (size_t)header_length, &st->header, error);
    if (status != MNET_OK) {
        mnet_error_prefix(error, "header: ");
        return status;
    }
    const mnet_json *root = mnet_json_root(st->header);
    if (mnet_json_type_of(root) != MNET_JSON_OBJECT)
        return mnet_fail(error, MNET_ERR_FORMAT, "header is not a JSON object");

    size_t members = mnet_json_size(root);
    st->tensors = calloc(members ? members : 1, sizeof *st->tensors);
    st->by_name = calloc(members ? members : 1, sizeof *st->by_name);
    if (!st->tensors || !st->by_name)
        return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "cannot allocate %zu tensor entries",
                         members);
    for (size_t i = 0; i < members; i++) {
        const char *name = mnet_json_key_at(root, i);
        const mnet_json *value = mnet_json_at(root, i);
        if (strcmp(name, "__metadata__") == 0) {
            status = check_metadata(value, error);
            if (status != MNET_OK) return status;
            if (!st->metadata) st->metadata = value;
            continue;
        }
        status = parse_entry(name, value, data, data_size, &st->tensors[st->count], error);
        if (status != MNET_OK) return status;
        st->by_name[st->count] = &st->tensors[st->count];
        st->count++;
    }

    qsort(st->by_name, st->count, sizeof *st->by_name, compare_by_name);
    for (size_t i = 1; i < st->count; i++)
        if (strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) == 0)
            return mnet_fail(error, MNET_ERR_FORMAT, "tensor '%.200s' appears twice",
                             st->by_name[i]->name);

    /* by_name doubles as scratch for the overlap check, then is re-sorted. */
    status = check_overlaps(st->by_name, st->count, data, error);
    if (status != MNET_OK) return status;
    qsort(st->by_name, st->count, sizeof *st->by_name, compare_by_name);
    return MNET_OK;
}

static mnet_status open_bytes(const unsigned char *bytes, size_t size, void *mapping,
                              mnet_safetensors **out, mnet_error *error) {
    mnet_safetensors *st = calloc(1, sizeof *st);
    if (!st) {
        if (mapping) munmap(mapping, size);
        return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "cannot allocate the safetensors reader");
    }
    st->mapping = mapping;
    st->mapping_size = size;
    mnet_status status = parse_header(st, bytes, size, error);
    if (status != MNET_OK) {
        mnet_st_close(st);
        return status;
    }
    *out = st;
    return MNET_OK;
}

mnet_status mnet_st_open_memory(const void *data, size_t size, mnet_safetensors **st,
                                mnet_error *error) {
    if (!st) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "safetensors: st is NULL");
    *st = NULL;
    if (!data && size > 0)
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "safetensors: data is NULL");
    return open_bytes(data, size, NULL, st, error);
}

mnet_status mnet_st_open_file(const char *path, mnet_safetensors **st, mnet_error *error) {
    if (!st) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "safetensors: st is NULL");
    *st = NULL;
    if (!path) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "safetensors: path is NULL");

    /* O_NONBLOCK: opening a FIFO without a writer must not hang; the type
     * check below then rejects it. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        char reason[128] = "unknown error";
        strerror_r(errno, reason, sizeof reason);
        return mnet_fail(error, MNET_ERR_IO, "%.300s: cannot open: %s", path, reason);
    }
    struct stat info;
    if (fstat(fd, &info) != 0) {
        char reason[128] = "unknown error";
        strerror_r(errno, reason, sizeof reason);
        close(fd);
        return mnet_fail(error, MNET_ERR_IO, "%.300s: cannot stat: %s", path, reason);
    }
    if (!S_ISREG(info.st_mode)) {
        close(fd);
        const char *kind = S_ISDIR(info.st_mode)    ? "a directory"
                           : S_ISFIFO(info.st_mode) ? "a FIFO"
                           : S_ISCHR(info.st_mode)  ? "a character device"
                           : S_ISBLK(info.st_mode)  ? "a block device"
                           : S_ISSOCK(info.st_mode) ? "a socket"
                                                    : "not a regular file";
        return mnet_fail(error, MNET_ERR_IO, "%.300s: is %s, not a regular file", path, kind);
    }
    if (info.st_size < 8) {
        close(fd);
        return mnet_fail(error, MNET_ERR_FORMAT,
                         "%.300s: file has %lld bytes, fewer than the 8-byte header length", path,
                         (long long)info.st_size);
    }
    if ((uint64_t)info.st_size > SIZE_MAX) {
        close(fd);
        return mnet_fail(error, MNET_ERR_LIMIT, "%.300s: file too large to map", path);
    }
    size_t size = (size_t)info.st_size;
    void *mapping = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (mapping == MAP_FAILED) {
        char reason[128] = "unknown error";
        strerror_r(map_errno, reason, sizeof reason);
        return mnet_fail(error, MNET_ERR_IO, "%.300s: cannot map %zu bytes: %s", path, size, reason);
    }
    mnet_status status = open_bytes(mapping, size, mapping, st, error);
    if (status != MNET_OK) mnet_error_prefix(error, "%.300s: ", path);
    return status;
}

void mnet_st_close(mnet_safetensors *st) {
    if (!st) return;
    if (st->mapping) munmap(st->mapping, st->mapping_size);
    mnet_json_free(st->header);
    free(st->tensors);
    free(st->by_name);
    free(st);
}

size_t mnet_st_tensor_count(const mnet_safetensors *st) { return st ? st->count : 0; }

const mnet_st_tensor *mnet_st_tensor_at(const mnet_safetensors *st, size_t index) {
    return st && index < st->count ? &st->tensors[index] : NULL;
}

const mnet_st_tensor *mnet_st_find(const mnet_safetensors *st, const char *name) {
    if (!st || !name) return NULL;
    size_t lo = 0, hi = st->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->by_name[mid]->name, name);
        if (c == 0) return st->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const char *mnet_st_metadata(const mnet_safetensors *st, const char *key) {
    if (!st || !key) return NULL;
    return mnet_json_string(mnet_json_get(st->metadata, key));
}

float mnet_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exponent = (h >> 10) & 0x1F;
    uint32_t mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13); /* inf, nan (payload kept) */
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {
        /* Subnormal: shift the mantissa up until its leading 1 is implicit. */
        int shift = 0;
        while (!(mantissa & 0x400)) {
            mantissa <<= 1;
            shift++;
        }
        bits = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3FF) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

mnet_status mnet_st_read_f32(const mnet_st_tensor *tensor, float *out, mnet_error *error) {
    if (!tensor || (!out && tensor->count > 0))
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "mnet_st_read_f32: NULL argument");
    const unsigned char *p = tensor->data;
    size_t count = (size_t)tensor->count;
    switch (tensor->dtype) {
    case MNET_DTYPE_F32:
        for (size_t i = 0; i < count; i++, p += 4) {
            uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                            (uint32_t)p[3] << 24;
            memcpy(&out[i], &bits, sizeof bits);
        }
        return MNET_OK;
    case MNET_DTYPE_F16:
        for (size_t i = 0; i < count; i++, p += 2)
            out[i] = mnet_half_to_float((uint16_t)(p[0] | p[1] << 8));
        return MNET_OK;
    default:
        return mnet_fail(error, MNET_ERR_MODEL, "tensor '%.200s': dtype %s, expected F32 or F16",
                         tensor->name, mnet_dtype_name(tensor->dtype));
    }
}
