/* Global average pooling for AVX2 + FMA: see global_pool_template.h. */
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/x86_kernels.h"

#define X86_FN(name) name##__avx2
#include "kernels/x86/global_pool_template.h"
