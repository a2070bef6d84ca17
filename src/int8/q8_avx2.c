/* 256-bit uint8 kernel tables: AVX2 + AVX-VNNI, and plain AVX2. Both come
 * from q8_avx2_template.h; this file holds what they share. */
#include "int8/q8_x86.h"

#include "int8/q8_rqtable.h"
#include "int8/q8_stem_common.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>
#include <string.h>

enum { Q8_HEADER_BYTES = 64 };

static int round_up8(int v) { return (v + 7) / 8 * 8; }

/* The channel at packed position pos: blocks of 32 in lane order (vector j,
 * 128-bit lane i, element k = channel 16 i + 4 j + k), then channel order. */
static int pos_channel8(int pos, int out_c) {
    int full = out_c / 32 * 32;
    if (pos >= full) return pos;
    int r = pos % 32, j = r / 8, i = (r % 8) / 4, k = r % 4;
    return pos - r + 16 * i + 4 * j + k;
}

/* The requantization table of positions [0, padded): per vector of 8
 * positions, a q8_rqtable.h table of 8 (rq_group), so that a kernel reads
 * one vector's constants at fixed offsets from one pointer. */
static const int32_t *rq_group(const int32_t *table, int pos) {
    return table + (size_t)((unsigned)pos / 8) * MNET_Q8_RQ_ROWS * 8;
}

/* Sets position pos of the grouped table to channel c of p (padding when
 * c >= out_c); returns 1 if that channel needs the general requantization
 * route (padding takes any). */
static int set_table8(int32_t *table, int pos, int c, int out_c, const mnet_q8_conv_params *p) {
    mnet_requant r = c < out_c ? mnet_q8_channel_requant(p, c) : mnet_q8_rqtable_pad();
    mnet_q8_rqtable_set(table + (size_t)(pos / 8) * MNET_Q8_RQ_ROWS * 8, 8, pos % 8, r);
    return c < out_c && mnet_q8_rqtable_short(r);
}

static int fill_table8(int32_t *table, int padded, int out_c, const mnet_q8_conv_params *p) {
    int any_short = 0;
    for (int pos = 0; pos < padded; pos++)
        any_short |= set_table8(table, pos, pos_channel8(pos, out_c), out_c, p);
    return any_short;
}

#define Q8_TARGET "avx2,fma,avxvnni"
#define Q8_VNNI 1
#define Q8_NAME(x) avxvnni_##x
#define Q8_TABLE mnet_q8_kernels_avxvnni
#define Q8_ISA "avxvnni"
#include "int8/q8_avx2_template.h"
#undef Q8_TARGET
#undef Q8_VNNI
#undef Q8_NAME
#undef Q8_TABLE
#undef Q8_ISA

#define Q8_TARGET "avx2,fma"
#define Q8_VNNI 0
#define Q8_NAME(x) avx2_##x
#define Q8_TABLE mnet_q8_kernels_avx2
#define Q8_ISA "avx2"
#include "int8/q8_avx2_template.h"

#else

const mnet_q8_kernels mnet_q8_kernels_avxvnni = {.isa = "avxvnni"};
const mnet_q8_kernels mnet_q8_kernels_avx2 = {.isa = "avx2"};

#endif
