/* Segmentation mask rows for AVX2: see mask_template.h. */
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/x86_kernels.h"

#define X86_FN(name) name##__avx2
#include "kernels/x86/mask_template.h"
