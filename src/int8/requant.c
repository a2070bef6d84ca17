/* Real multiplier -> fixed point, as TFLite's QuantizeMultiplier. */
#include "int8/requant.h"

#include <math.h>

mnet_requant mnet_requant_from_real(double real) {
    mnet_requant r = {0, 0};
    if (!(real > 0.0) || !isfinite(real)) return r;
    int exponent = 0;
    double mantissa = frexp(real, &exponent); /* real = mantissa * 2^exponent, [0.5, 1) */
    int64_t q = (int64_t)round(mantissa * (double)((int64_t)1 << 31));
    if (q == ((int64_t)1 << 31)) { /* rounded up to 1.0 */
        q /= 2;
        exponent++;
    }
    if (exponent < -31) return r; /* below what a shift can express */
    if (exponent > 30) { /* saturate, as TFLite does */
        r.multiplier = INT32_MAX;
        r.shift = 30;
        return r;
    }
    r.multiplier = (int32_t)q;
    r.shift = exponent;
    return r;
}
