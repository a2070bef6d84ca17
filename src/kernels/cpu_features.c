#include "kernels/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* XCR0 bits: 1 SSE, 2 AVX (upper YMM), 5 opmask, 6 ZMM_Hi256, 7 Hi16_ZMM. */
enum { XCR0_YMM = (1u << 1) | (1u << 2), XCR0_ZMM = (1u << 5) | (1u << 6) | (1u << 7) };

static unsigned long long read_xcr0(void) {
    unsigned int lo, hi;
    /* Raw opcode of xgetbv so that no -mxsave flag is needed. */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

mnet_cpu_features mnet_cpu_features_detect(void) {
    mnet_cpu_features f = {0};
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
    bool osxsave = (ecx >> 27) & 1;
    bool avx = (ecx >> 28) & 1;
    f.fma = (ecx >> 12) & 1;
    f.f16c = (ecx >> 29) & 1;
    if (osxsave && avx) {
        unsigned long long xcr0 = read_xcr0();
        f.os_ymm = (xcr0 & XCR0_YMM) == XCR0_YMM;
        f.os_zmm = f.os_ymm && (xcr0 & XCR0_ZMM) == XCR0_ZMM;
    }
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        f.avx2 = (ebx >> 5) & 1;
        f.avx512f = (ebx >> 16) & 1;
        f.avx512dq = (ebx >> 17) & 1;
        f.avx512bw = (ebx >> 30) & 1;
        f.avx512vl = (ebx >> 31) & 1;
        f.avx512vnni = (ecx >> 11) & 1;
    }
    if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) f.avxvnni = (eax >> 4) & 1;
    return f;
}

#else

mnet_cpu_features mnet_cpu_features_detect(void) {
    mnet_cpu_features f = {0};
    return f;
}

#endif

bool mnet_cpu_can_run_avx2(const mnet_cpu_features *f) {
    return f->os_ymm && f->avx2 && f->fma && f->f16c;
}

bool mnet_cpu_can_run_avx512(const mnet_cpu_features *f) {
    return mnet_cpu_can_run_avx2(f) && f->os_zmm && f->avx512f && f->avx512bw &&
           f->avx512dq && f->avx512vl;
}
