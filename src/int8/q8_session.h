/* A session's uint8 state: the arena of the uint8 tensors and which float
 * tensors receive dequantized results after a run. */
#ifndef MNET_INT8_Q8_SESSION_H
#define MNET_INT8_Q8_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "core/threadpool.h"
#include "int8/q8_plan.h"

typedef struct mnet_q8_session mnet_q8_session;

/* keep[i] non-zero: float tensor i is read after the run (a requested tap);
 * it is exported, as are the plan's output and detector outputs. */
mnet_status mnet_q8_session_create(const mnet_q8_plan *q, const mnet_plan *plan,
                                   const unsigned char *keep, int threads,
                                   mnet_q8_session **out, mnet_error *error);

void mnet_q8_session_destroy(mnet_q8_session *s);

size_t mnet_q8_session_bytes(const mnet_q8_session *s);

/* What mnet_q8_session_create with these arguments would allocate, in bytes
 * (the same sum as mnet_q8_session_bytes), so that a session's memory limit
 * covers its int8 part before anything is allocated; 0 if out of memory. */
size_t mnet_q8_session_planned_bytes(const mnet_q8_plan *q, const mnet_plan *plan,
                                     const unsigned char *keep, int threads);

/* Quantizes the float input (`input`, or when NULL the input tensor at
 * float_base + float_offsets[input]), runs the uint8 plan, and writes every
 * exported tensor dequantized (scale * (q - zero_point)) to its float place.
 * pool may be NULL, and has at most the `threads` given at creation. */
void mnet_q8_session_run(mnet_q8_session *s, const float *input, float *float_base,
                         const size_t *float_offsets, mnet_threadpool *pool);

/* Runs step `step` of the plan alone on the session's current uint8
 * tensors (mnet_q8_session_run does all of them in order; profiling tools
 * time them one by one after a full run). */
void mnet_q8_session_run_step(mnet_q8_session *s, int step, mnet_threadpool *pool);

/* A classifier's uint8 probabilities after a run (the original model's
 * SOFTMAX output: scale 1/256, zero point 0) and their count; NULL (count
 * 0) when the plan has no output softmax. */
const uint8_t *mnet_q8_session_probabilities(const mnet_q8_session *s, size_t *count);

/* The uint8 data of float plan tensor t after a run (tests, tools); NULL if
 * the tensor was not kept. */
const uint8_t *mnet_q8_session_tensor(const mnet_q8_session *s, int t);

#endif
