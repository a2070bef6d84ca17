/* Segmentation mask rows for AVX-512: see mask_template.h. */
#include "kernels/x86/simd_avx512.h"
#include "kernels/x86/x86_kernels.h"

#define X86_FN(name) name##__avx512
#include "kernels/x86/mask_template.h"
