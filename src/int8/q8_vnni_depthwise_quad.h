/* AVX-512 VNNI 3x3 depthwise by vertical quads (vpdpbusd), used by
 * q8_vnni_depthwise.c; the scheme is described in
 * q8_vnni_depthwise_quad.c. */
#ifndef MNET_INT8_Q8_VNNI_DEPTHWISE_QUAD_H
#define MNET_INT8_Q8_VNNI_DEPTHWISE_QUAD_H

#include "int8/q8_vnni_common.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

/* Packed weight vectors (tap pairs and quads): the packed blob's alignment
 * is the caller's, so they are read as unaligned vectors. */
typedef long long dw_u512 __attribute__((__vector_size__(64), __aligned__(1), __may_alias__));

/* 1 when the geometry can run the quad kernel: 3x3, and stride 1 (any
 * dilation) or stride 2 without dilation. */
int mnet_q8_vnni_dwq_ok(const mnet_conv_geometry *g);

/* 1 when the channels (33 to 63; 16 or 32 at stride 2 or dilated) run as
 * one 64-lane block with masked loads and stores: its bias (BLOCK int32)
 * and requantization table, in lane order (q8_vnni_common.h), follow the
 * quads at dwq_masked_offset, for the caller to fill and pass to dwq_row. */
int mnet_q8_vnni_dwq_masked(const mnet_conv_geometry *g);
size_t mnet_q8_vnni_dwq_masked_offset(const mnet_conv_geometry *g);

/* Bytes of the quad weights, with the masked block's bias and table (0
 * when not dwq_ok). */
size_t mnet_q8_vnni_dwq_bytes(const mnet_conv_geometry *g);

/* Packs the quad weights and the blocks' K flags (OHWI uint8 weights in,
 * zero point zw), in the positions of the tap pairs' layout, or of one
 * 64-block (several pixels, or masked). */
void mnet_q8_vnni_dwq_pack(const mnet_conv_geometry *g, const uint8_t *w_ohwi, int zw,
                           int32_t *quads);

/* One output row from channel first on (0, or a multiple of 64 that
 * leaves the full 64-blocks before it to another kernel): rows = the 3
 * input rows (NULL: padding), wq the packed quads, bias the packed bias
 * (its zero-point folding as for the tap pairs), rq / ru the
 * requantization (positions from 0). skip: MNET_DWQ_SKIP_K leaves the full
 * 64-blocks that need the K sums (mnet_q8_vnni_dwq_block_k) to the caller,
 * MNET_DWQ_SKIP_TAIL the channels after the full blocks (dwq_pair_tail). */
enum { MNET_DWQ_SKIP_K = 1, MNET_DWQ_SKIP_TAIL = 2 };
void mnet_q8_vnni_dwq_row(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                          const uint8_t *const *rows, const int32_t *wq, const int32_t *bias,
                          const rq_ctx *rq, const rq_vec *ru, uint8_t *out_row, int first,
                          int skip);

/* Two output rows per pass (q8_vnni_depthwise_quad.c): 1 when the
 * geometry can run it (stride 1, no dilation, at least one full 64-block);
 * dwq_block_k: 1 when the full 64-block at block needs the K sums (then it
 * must run by single rows). */
int mnet_q8_vnni_dwq_pair_ok(const mnet_conv_geometry *g);
int mnet_q8_vnni_dwq_block_k(const int32_t *wq, int block);

/* The full 64-blocks of output rows oy and oy + 1, but those that need the
 * K sums (left to the caller): rows = the 4 input rows they read (NULL:
 * padding); the rest as dwq_row. */
void mnet_q8_vnni_dwq_pair(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                           const uint8_t *const *rows, const int32_t *wq, const int32_t *bias,
                           const rq_ctx *rq, const rq_vec *ru, uint8_t *out_row0,
                           uint8_t *out_row1);

/* As dwq_pair for 16 or 32 channels at stride 1 without dilation (4 or 2
 * pixels per 64-lane block; pair_px_ok), with the K sums where needed. */
int mnet_q8_vnni_dwq_pair_px_ok(const mnet_conv_geometry *g);
void mnet_q8_vnni_dwq_pair_px(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                              const uint8_t *const *rows, const int32_t *wq, const int32_t *bias,
                              const rq_ctx *rq, const rq_vec *ru, uint8_t *out_row0,
                              uint8_t *out_row1);

/* The pixel tail (dwq_ok without dilation, 16 or 32 channels after at
 * least one full 64-block): those channels of 4 or 2 pixels as one 64-lane
 * block, with its own quads, bias (BLOCK int32) and requantization table;
 * the caller fills bias and table at dwq_ptail_bias_offset (position pos:
 * channel dwq_ptail_channel), and runs it by dwq_pair_tail
 * (rq: the layer's, for its flags): two output rows at stride 1 (rows: 4
 * input rows), or one (out_row1 NULL; rows: 3). */
int mnet_q8_vnni_dwq_ptail(const mnet_conv_geometry *g);
size_t mnet_q8_vnni_dwq_ptail_offset(const mnet_conv_geometry *g);
size_t mnet_q8_vnni_dwq_ptail_bias_offset(const mnet_conv_geometry *g);
int mnet_q8_vnni_dwq_ptail_channel(const mnet_conv_geometry *g, int pos);
void mnet_q8_vnni_dwq_pair_tail(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                                const uint8_t *const *rows, const int32_t *wq, const rq_ctx *rq,
                                const rq_vec *ru, uint8_t *out_row0, uint8_t *out_row1);

#endif

#endif
