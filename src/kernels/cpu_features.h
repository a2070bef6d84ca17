/* CPU feature detection for kernel selection: what the processor implements
 * AND what the operating system saves across context switches (XGETBV).
 * A CPU may report AVX-512 while the OS keeps ZMM state disabled; using it
 * then faults, so both must hold before a table is chosen.
 *
 * Detection reads CPUID each call and keeps no state: it runs once per
 * model load, which makes caching pointless. */
#ifndef MNET_CPU_FEATURES_H
#define MNET_CPU_FEATURES_H

#include <stdbool.h>

typedef struct mnet_cpu_features {
    bool os_ymm;      /* XCR0 enables SSE + AVX state */
    bool os_zmm;      /* XCR0 also enables opmask + ZMM state */
    bool avx2, fma, f16c;
    bool avx512f, avx512bw, avx512dq, avx512vl, avx512vnni;
    bool avxvnni;     /* VEX-encoded vpdpbusd (needs only YMM state) */
} mnet_cpu_features;

/* All false on non-x86 processors. */
mnet_cpu_features mnet_cpu_features_detect(void);

/* AVX2 + FMA + F16C with OS support of YMM state: the flags the avx2
 * kernels are compiled with. */
bool mnet_cpu_can_run_avx2(const mnet_cpu_features *f);

/* The avx2 set plus AVX-512 F/BW/DQ/VL with OS support of ZMM state. */
bool mnet_cpu_can_run_avx512(const mnet_cpu_features *f);

#endif
