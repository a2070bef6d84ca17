/* x86 uint8 kernel tables (functions compiled with target attributes,
 * selected at run time from the CPU's features). */
#ifndef MNET_INT8_Q8_X86_H
#define MNET_INT8_Q8_X86_H

#include "int8/q8_kernels.h"

/* AVX-512 F/BW/VL + VNNI (vpdpbusd). */
extern const mnet_q8_kernels mnet_q8_kernels_avx512vnni;

#endif
