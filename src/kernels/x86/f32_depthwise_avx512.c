/* Depthwise convolution for AVX-512: see depthwise_template.h. */
#include "kernels/x86/simd_avx512.h"
#include "kernels/x86/x86_kernels.h"

#define X86_FN(name) name##__avx512
#include "kernels/x86/depthwise_template.h"
