/* Internal error reporting: every failure path fills an mnet_error with a
 * status and a message naming the file, tensor or value that was wrong. */
#ifndef MNET_CORE_ERROR_H
#define MNET_CORE_ERROR_H

#include "mnet.h"

#if defined(__GNUC__)
#define MNET_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MNET_PRINTF(a, b)
#endif

/* Sets error (if not NULL) and returns status, so callers can write
 * `return mnet_fail(err, MNET_ERR_FORMAT, "...", ...);`. */
mnet_status mnet_fail(mnet_error *error, mnet_status status, const char *fmt, ...)
    MNET_PRINTF(3, 4);

/* Prefixes an existing message, e.g. with the file name. */
void mnet_error_prefix(mnet_error *error, const char *fmt, ...) MNET_PRINTF(2, 3);

void mnet_error_clear(mnet_error *error);

#endif
