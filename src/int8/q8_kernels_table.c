/* Choosing the uint8 kernel table. */
#include <string.h>

#include "int8/q8_kernels.h"
#include "int8/q8_x86.h"
#include "kernels/cpu_features.h"

const mnet_q8_kernels mnet_q8_kernels_ref = {"ref", NULL, NULL, NULL, NULL, NULL, NULL};

const mnet_q8_kernels *mnet_q8_kernels_select(const char *isa) {
    if (isa && strcmp(isa, "ref") == 0) return &mnet_q8_kernels_ref;
    mnet_cpu_features f = mnet_cpu_features_detect();
    int want_any = !isa || !isa[0];
    int allow_avx512 = want_any || strcmp(isa, "avx512") == 0;
    if (allow_avx512 && mnet_cpu_can_run_avx512(&f) && f.avx512vnni)
        return &mnet_q8_kernels_avx512vnni;
    if (want_any || strcmp(isa, "avx512") == 0 || strcmp(isa, "avx2") == 0)
        return &mnet_q8_kernels_ref;
    return NULL;
}
