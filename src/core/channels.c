/* Channel-count rules; see channels.h. */
#include "core/channels.h"

int mnet_make_divisible(float v, int divisor) {
    if (divisor <= 0) return 0;
    double value = (double)v;
    if (!(value > 0.0)) return divisor; /* also catches NaN */
    if (value > 1e9) value = 1e9;       /* keeps the int conversion defined */
    double half = (double)divisor / 2.0;
    long rounded = (long)(value + half) / divisor * divisor;
    if (rounded < divisor) rounded = divisor;
    if ((double)rounded < 0.9 * value) rounded += divisor;
    return (int)rounded;
}

int mnet_mobilenet_v1_channels(float dm, int base) {
    double scaled = (double)base * (double)dm;
    if (!(scaled > 8.0)) return 8; /* also catches NaN */
    if (scaled > 1e9) scaled = 1e9;
    return (int)scaled;
}
