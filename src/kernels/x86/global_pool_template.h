/* Global average pooling (mean over H and W), vectorized over channels.
 * Included by f32_global_pool_<isa>.c after simd_<isa>.h, with X86_FN(name)
 * naming the exported function for that ISA.
 *
 * Each channel adds its pixels in pixel order and divides once at the end,
 * exactly as mnet_ref_global_avgpool_f32 does, so the results are the
 * reference's bits; only the loop order differs (pixels outer, so the
 * NHWC input is read once, front to back). */
#include <stddef.h>

#include "kernels/kernels.h"
#include "kernels/x86/template_common.h"

/* Channel vectors summed per pass: enough independent add chains to hide
 * the add latency, few enough to stay in registers. */
#define GP_NV 4

X86_INLINE void gp_channels(const int nv, const int masked, size_t pixels, size_t c,
                            const float *in, float *out, vmask tail, vec n) {
    vec acc[GP_NV];
    for (int v = 0; v < nv; v++) acc[v] = vec_zero();
    for (size_t p = 0; p < pixels; p++) {
        const float *px = in + p * c;
        for (int v = 0; v < nv; v++) {
            const vec x = masked && v == nv - 1 ? vec_load_mask(px + v * VLEN, tail)
                                                : vec_load(px + v * VLEN);
            acc[v] = vec_add(acc[v], x);
        }
    }
    for (int v = 0; v < nv; v++) {
        const vec y = vec_div(acc[v], n);
        if (masked && v == nv - 1) vec_store_mask(out + v * VLEN, y, tail);
        else vec_store(out + v * VLEN, y);
    }
}

void X86_FN(mnet_f32_global_avgpool)(int h, int w, int c, const float *in, float *out) {
    const size_t pixels = (size_t)h * (size_t)w, cs = (size_t)c;
    if (pixels == 0) {
        for (int ch = 0; ch < c; ch++) out[ch] = 0.0f;
        return;
    }
    const vec n = vec_set1((float)pixels);
    const vmask tail = vec_mask_first(c % VLEN);
    int ch = 0;
    for (; ch + GP_NV * VLEN <= c; ch += GP_NV * VLEN)
        gp_channels(GP_NV, 0, pixels, cs, in + ch, out + ch, tail, n);
    for (; ch + VLEN <= c; ch += VLEN) gp_channels(1, 0, pixels, cs, in + ch, out + ch, tail, n);
    if (ch < c) gp_channels(1, 1, pixels, cs, in + ch, out + ch, tail, n);
}
