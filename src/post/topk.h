/* Top-k selection over class scores. */
#ifndef MNET_POST_TOPK_H
#define MNET_POST_TOPK_H

/* Writes the indices of the k largest scores, best first, into order[0..k)
 * (ties: lower index first). order must hold n ints (used as work space).
 * NaN scores rank last. Returns min(k, n). */
int mnet_topk(const float *scores, int n, int k, int *order);

#endif
