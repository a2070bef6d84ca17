/* The ISA-independent half of an x86 row kernel, included by
 * row_kernels_avx2.c and row_kernels_avx512.c after their own decoders
 * (decode_gray, decode_yuv, decode_packed) and dot-product filter
 * (filter_chunk). Defines decode_chunk, the filters per channel count and
 * the row accumulator ROW_ACCUMULATE, all compiled for ROW_TARGET (a target
 * attribute), so each includer gets its own copy for its ISA. */
#if !defined(ROW_TARGET) || !defined(ROW_ACCUMULATE)
#error "define ROW_TARGET and ROW_ACCUMULATE before including row_chunk_template.h"
#endif

/* Makes columns [x0, x0 + n) (n <= CHUNK) of source row `row` readable as
 * planar floats, decoding into buf (3 * (CHUNK + 1) floats) when needed. */
ROW_TARGET static planar_chunk decode_chunk(const mnet_pixel_source *s, int row, int x0, int n,
                                            float *buf) {
    planar_chunk chunk;
    chunk.first = x0;
    float *planes[3] = {buf, buf + CHUNK + 1, buf + 2 * (CHUNK + 1)};
    switch (s->format) {
    case MNET_PIXEL_RGB_F32_PLANAR:
        for (int c = 0; c < 3; c++)
            chunk.c[c] =
                (const float *)(const void *)(s->planes[c] + (size_t)row * s->strides[c]) + x0;
        break;
    case MNET_PIXEL_GRAY:
        decode_gray(s, row, x0, n, planes[0]);
        chunk.c[0] = chunk.c[1] = chunk.c[2] = planes[0];
        break;
    case MNET_PIXEL_NV12:
    case MNET_PIXEL_NV21:
    case MNET_PIXEL_I420:
    case MNET_PIXEL_YV12: {
        int even = x0 & ~1, skip = x0 - even;
        decode_yuv(s, row, even, n + skip, planes[0], planes[1], planes[2]);
        for (int c = 0; c < 3; c++) chunk.c[c] = planes[c] + skip;
        break;
    }
    default:
        decode_packed(s, row, x0, n, planes[0], planes[1], planes[2]);
        for (int c = 0; c < 3; c++) chunk.c[c] = planes[c];
        break;
    }
    return chunk;
}

ROW_TARGET static void filter_chunk_rgb(const planar_chunk *chunk, const float *taps, int k0,
                                        int k1, float inv_fs, float weight, float *acc) {
    filter_chunk(chunk, 3, taps, k0, k1, inv_fs, weight, acc);
}

ROW_TARGET static void filter_chunk_gray(const planar_chunk *chunk, const float *taps, int k0,
                                         int k1, float inv_fs, float weight, float *acc) {
    filter_chunk(chunk, 1, taps, k0, k1, inv_fs, weight, acc);
}

/* Enlarging: at most two taps per output pixel, so a dot product in
 * vector registers would be mostly empty lanes. */
ROW_TARGET static void filter_chunk_narrow(const planar_chunk *chunk, const float *taps, int k0,
                                           int k1, float inv_fs, float weight, float *acc) {
    const float *cr = chunk->c[0], *cg = chunk->c[1], *cb = chunk->c[2];
    for (int k = k0; k < k1; k++) {
        const float *tap = taps + (size_t)k * MNET_TAP_FLOATS;
        const int base = (int)tap[0] - chunk->first, n = (int)tap[1];
        float *a = acc + (size_t)k * 3;
        if (tap[2] == 0.5f && tap[3] == 1.0f && weight == 1.0f) {
            /* 1:1 (identity fit): the first tap has weight 1, the next 0 */
            a[0] += cr[base];
            a[1] += cg[base];
            a[2] += cb[base];
            continue;
        }
        float r = 0.0f, g = 0.0f, b = 0.0f;
        for (int t = 0; t < n; t++) {
            float w = 1.0f - fabsf(((float)t + 0.5f - tap[2]) * inv_fs);
            if (w <= 0.0f) continue;
            r += w * cr[base + t];
            g += w * cg[base + t];
            b += w * cb[base + t];
        }
        const float scale = weight * tap[3];
        a[0] += scale * r;
        a[1] += scale * g;
        a[2] += scale * b;
    }
}

ROW_TARGET static void ROW_ACCUMULATE(const mnet_pixel_source *s, int row, const float *taps,
                                      int count, float inv_fs, float weight, float *acc) {
    float buf[3 * (CHUNK + 1)];
    const int channels = s->format == MNET_PIXEL_GRAY ? 1 : 3;
    const int narrow = inv_fs >= 1.0f;
    int k = 0;
    while (k < count) {
        const float *tap = taps + (size_t)k * MNET_TAP_FLOATS;
        int lo = (int)tap[0], hi = lo + (int)tap[1];
        if (hi - lo > CHUNK) { /* one enormous footprint: the scalar reader */
            mnet_pixel_source_accumulate_row(s, row, tap, 1, inv_fs, weight, acc + (size_t)k * 3);
            k++;
            continue;
        }
        /* Grow the group while the union of its taps fits one chunk (the
         * union is contiguous: taps move monotonically, either way). */
        int end = k + 1;
        for (; end < count; end++) {
            const float *t = taps + (size_t)end * MNET_TAP_FLOATS;
            int f = (int)t[0], e = f + (int)t[1];
            int new_lo = f < lo ? f : lo, new_hi = e > hi ? e : hi;
            if (new_hi - new_lo > CHUNK) break;
            lo = new_lo;
            hi = new_hi;
        }
        planar_chunk chunk = decode_chunk(s, row, lo, hi - lo, buf);
        if (narrow) /* GRAY too: its three planes are one, so R = G = B exactly */
            filter_chunk_narrow(&chunk, taps, k, end, inv_fs, weight, acc);
        else if (channels == 3)
            filter_chunk_rgb(&chunk, taps, k, end, inv_fs, weight, acc);
        else
            filter_chunk_gray(&chunk, taps, k, end, inv_fs, weight, acc);
        k = end;
    }
}

#undef ROW_TARGET
#undef ROW_ACCUMULATE
