/* x86 uint8 kernel tables (functions compiled with target attributes,
 * selected at run time from the CPU's features). A table whose pointwise
 * entry is NULL was not compiled for this target. */
#ifndef MNET_INT8_Q8_X86_H
#define MNET_INT8_Q8_X86_H

#include "int8/q8_kernels.h"

/* AVX-512 F/BW/VL/DQ + VNNI (512-bit vpdpbusd / vpdpwssd). */
extern const mnet_q8_kernels mnet_q8_kernels_avx512vnni;

/* AVX2 + AVX-VNNI (VEX-encoded 256-bit vpdpbusd / vpdpwssd). */
extern const mnet_q8_kernels mnet_q8_kernels_avxvnni;

/* AVX2 alone (the dot products through vpmaddwd on int16). */
extern const mnet_q8_kernels mnet_q8_kernels_avx2;

#endif
