/* Chunk bookkeeping shared by the x86 row kernels (row_kernels_avx2.c,
 * row_kernels_avx512.c): a source row is decoded chunk by chunk into planar
 * floats before the filters run. */
#ifndef MNET_IMAGE_ROW_CHUNK_H
#define MNET_IMAGE_ROW_CHUNK_H

/* Source pixels decoded per chunk; an output pixel whose taps span more is
 * left to the scalar reader (a shrink by more than CHUNK / 2). */
enum { CHUNK = 1024 };

typedef struct planar_chunk {
    const float *c[3]; /* R, G, B at source column `first` (GRAY: all one plane) */
    int first;
} planar_chunk;

static inline float clamp255(float v) {
    return v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
}

#endif
