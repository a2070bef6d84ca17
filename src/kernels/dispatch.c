/* Kernel selection: the only place that turns CPU features into a kernel
 * table. Best available order: avx512 > avx2 > ref. */
#include <stddef.h>
#include <string.h>

#include "kernels/cpu_features.h"
#include "kernels/kernels.h"

#ifdef MNET_HAVE_X86
#include "kernels/x86/x86_kernels.h"
#endif

const mnet_kernels *mnet_kernels_select(const char *name) {
    bool want_best = name == NULL || name[0] == '\0';
    if (!want_best && strcmp(name, "ref") == 0) return &mnet_kernels_ref;
#ifdef MNET_HAVE_X86
    mnet_cpu_features f = mnet_cpu_features_detect();
    if ((want_best || strcmp(name, "avx512") == 0) && mnet_cpu_can_run_avx512(&f))
        return &mnet_kernels_avx512;
    if ((want_best || strcmp(name, "avx2") == 0) && mnet_cpu_can_run_avx2(&f))
        return &mnet_kernels_avx2;
#endif
    return want_best ? &mnet_kernels_ref : NULL;
}

const char *mnet_kernels_available(void) {
#ifdef MNET_HAVE_X86
    mnet_cpu_features f = mnet_cpu_features_detect();
    if (mnet_cpu_can_run_avx512(&f)) return "ref,avx2,avx512";
    if (mnet_cpu_can_run_avx2(&f)) return "ref,avx2";
#endif
    return "ref";
}
