/* The parts of the x86 row kernels that do not depend on the vector width,
 * included by row_kernels_avx2.c and row_kernels_avx512.c after their own
 * dot product over taps (dot_taps) and before their decoders. Everything
 * here is compiled for ROW_TARGET (a target attribute), so each includer
 * gets its own copy for its ISA; ROW_INV_VEC is the vector type dot_taps
 * takes the inverse filter scale in, ROW_INV_SET1 broadcasts a float to it.
 *
 * The helpers are the scalar halves of the decoders (chroma rows, column
 * tails, byte shuffle tables) and of the RGB normalization (its tail),
 * and the 8-lane sums that both ISAs use to add up eight output pixels at
 * once. */
#if !defined(ROW_TARGET) || !defined(ROW_INV_VEC) || !defined(ROW_INV_SET1)
#error "define ROW_TARGET, ROW_INV_VEC and ROW_INV_SET1 before including row_kernels_template.h"
#endif

/* Packed 3-byte pixels: byte shuffles that gather channel c of 8 pixels
 * (24 bytes) from two overlapping 16-byte loads at bytes 0 and 8. Lanes
 * a load does not supply are 0x80, which the shuffle turns into zero, so
 * the two shuffled loads can be OR-ed together. */
ROW_TARGET static void packed3_shuffles(const int offsets[3], __m128i from_lo[3],
                                        __m128i from_hi[3]) {
    for (int c = 0; c < 3; c++) {
        unsigned char lo[16], hi[16];
        memset(lo, 0x80, sizeof lo);
        memset(hi, 0x80, sizeof hi);
        for (int j = 0; j < 8; j++) {
            int at = offsets[c] + 3 * j;
            if (at < 16)
                lo[j] = (unsigned char)at;
            else
                hi[j] = (unsigned char)(at - 8);
        }
        from_lo[c] = _mm_loadu_si128((const __m128i *)(const void *)lo);
        from_hi[c] = _mm_loadu_si128((const __m128i *)(const void *)hi);
    }
}

/* Packed 8-bit formats, columns [i, n) one by one (the vector loop's tail). */
ROW_TARGET static void decode_packed_tail(const unsigned char *p, int bpp, const int offsets[3],
                                          int i, int n, float *const out[3]) {
    for (; i < n; i++)
        for (int c = 0; c < 3; c++) out[c][i] = (float)p[(size_t)i * (size_t)bpp + (size_t)offsets[c]];
}

/* YUV 4:2:0 chroma for luma columns [x0, x0 + n) of `row` (x0 even):
 * samples m0 - 1 .. m_end + 1 (edges replicated) of the two chroma rows
 * around it, blended vertically, with 128 taken off. Same siting and
 * arithmetic as pixel_source.c; cu, cv hold (n - 1) / 2 + 3 floats. */
ROW_TARGET static void blend_chroma_rows(const mnet_pixel_source *s, int row, int x0, int n,
                                         float *cu, float *cv) {
    const int half = row >> 1;
    int top, bottom;
    float w_top;
    if (row & 1) {
        top = half;
        bottom = half + 1 < s->chroma_height ? half + 1 : s->chroma_height - 1;
        w_top = 0.75f;
    } else {
        top = half > 0 ? half - 1 : 0;
        bottom = half;
        w_top = 0.25f;
    }
    const float w_bottom = 1.0f - w_top;
    const size_t step = (size_t)s->chroma_step;
    const unsigned char *u_top = s->u_plane + (size_t)top * s->chroma_stride;
    const unsigned char *u_bot = s->u_plane + (size_t)bottom * s->chroma_stride;
    const unsigned char *v_top = s->v_plane + (size_t)top * s->chroma_stride;
    const unsigned char *v_bot = s->v_plane + (size_t)bottom * s->chroma_stride;
    const int m0 = x0 / 2, m_end = (x0 + n - 1) / 2;
    const int samples = m_end - m0 + 3;
    for (int j = 0; j < samples; j++) {
        int m = m0 - 1 + j;
        m = m < 0 ? 0 : (m >= s->chroma_width ? s->chroma_width - 1 : m);
        size_t o = (size_t)m * step;
        cu[j] = w_top * u_top[o] + w_bottom * u_bot[o] - 128.0f;
        cv[j] = w_top * v_top[o] + w_bottom * v_bot[o] - 128.0f;
    }
}

/* YUV 4:2:0, columns [i, n) one by one (the vector loop's tail): chroma
 * blended horizontally from the blend_chroma_rows samples, then the matrix. */
ROW_TARGET static void decode_yuv_tail(const mnet_pixel_source *s, const unsigned char *luma,
                                       const float *cu, const float *cv, int i, int n, float *r,
                                       float *g, float *b) {
    for (; i < n; i++) {
        const int j = i / 2 + 1;
        float u, v;
        if (i & 1) {
            u = 0.75f * cu[j] + 0.25f * cu[j + 1];
            v = 0.75f * cv[j] + 0.25f * cv[j + 1];
        } else {
            u = 0.25f * cu[j - 1] + 0.75f * cu[j];
            v = 0.25f * cv[j - 1] + 0.75f * cv[j];
        }
        float y = ((float)luma[i] - s->y_offset) * s->y_scale;
        r[i] = clamp255(y + s->rv * v);
        g[i] = clamp255(y + s->gu * u + s->gv * v);
        b[i] = clamp255(y + s->bu * u);
    }
}

/* Normalization of pixels [k, pixels) one by one (the vector loop's tail). */
ROW_TARGET static void normalize_rgb_tail(const float *rgb, float *out, size_t k, size_t pixels,
                                          const float mean[3], const float std[3]) {
    for (; k < pixels; k++)
        for (int c = 0; c < 3; c++) out[3 * k + c] = (rgb[3 * k + c] - mean[c]) / std[c];
}

ROW_TARGET static inline float horizontal_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The eight sums of v[0..7] as one vector (lane j = sum of v[j]). */
ROW_TARGET static inline __m256 transpose_sum8(const __m256 v[8]) {
    __m256 b0 = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    __m256 b1 = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(b0, b1, 0x20),
                         _mm256_permute2f128_ps(b0, b1, 0x31));
}

/* Output pixels [k0, k1) whose taps all lie in the chunk, eight at a time
 * so that their sums are added up together. Inlined into the callers in
 * row_chunk_template.h with a constant channel count, so that the sums stay
 * in registers. */
ROW_TARGET static inline __attribute__((always_inline)) void filter_chunk(
    const planar_chunk *chunk, int channels, const float *taps, int k0, int k1, float inv_fs,
    float weight, float *acc) {
    const ROW_INV_VEC inv = ROW_INV_SET1(inv_fs);
    int k = k0;
    for (; k + 8 <= k1; k += 8) {
        __m256 sums[3][8];
        float scale[8], total[3][8];
        for (int j = 0; j < 8; j++) {
            const float *tap = taps + (size_t)(k + j) * MNET_TAP_FLOATS;
            __m256 sum[3];
            dot_taps(chunk, channels, tap, inv, sum);
            for (int c = 0; c < channels; c++) sums[c][j] = sum[c];
            scale[j] = weight * tap[3];
        }
        const __m256 scale_v = _mm256_loadu_ps(scale);
        for (int c = 0; c < channels; c++)
            _mm256_storeu_ps(total[c], _mm256_mul_ps(scale_v, transpose_sum8(sums[c])));
        float *a = acc + (size_t)k * 3;
        for (int j = 0; j < 8; j++)
            for (int c = 0; c < 3; c++) a[3 * j + c] += total[channels == 1 ? 0 : c][j];
    }
    for (; k < k1; k++) {
        const float *tap = taps + (size_t)k * MNET_TAP_FLOATS;
        __m256 sum[3];
        dot_taps(chunk, channels, tap, inv, sum);
        const float scale = weight * tap[3];
        float *a = acc + (size_t)k * 3;
        for (int c = 0; c < 3; c++) a[c] += scale * horizontal_sum(sum[channels == 1 ? 0 : c]);
    }
}

#undef ROW_INV_VEC
#undef ROW_INV_SET1
