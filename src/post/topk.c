/* Partial selection: k passes of a max search would be O(nk); a partial
 * insertion into a sorted prefix is O(n log k)-ish and simple enough. */
#include "post/topk.h"

/* a ranks before b */
static int better(const float *s, int a, int b) {
    float x = s[a], y = s[b];
    if (x != x) return 0;              /* NaN never ranks first */
    if (y != y) return 1;
    return x > y || (x == y && a < b);
}

int mnet_topk(const float *scores, int n, int k, int *order) {
    if (n <= 0 || k <= 0) return 0;
    if (k > n) k = n;
    int filled = 0;
    for (int i = 0; i < n; i++) {
        if (filled == k && !better(scores, i, order[k - 1])) continue;
        int pos = filled < k ? filled++ : k - 1;
        while (pos > 0 && better(scores, i, order[pos - 1])) {
            order[pos] = order[pos - 1];
            pos--;
        }
        order[pos] = i;
    }
    return k;
}
