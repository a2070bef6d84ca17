/* Status names, error messages and option defaults. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *mnet_status_string(mnet_status status) {
    switch (status) {
    case MNET_OK: return "ok";
    case MNET_ERR_INVALID_ARGUMENT: return "invalid argument";
    case MNET_ERR_IO: return "i/o error";
    case MNET_ERR_FORMAT: return "malformed model file";
    case MNET_ERR_MODEL: return "invalid model";
    case MNET_ERR_UNSUPPORTED: return "unsupported";
    case MNET_ERR_OUT_OF_MEMORY: return "out of memory";
    case MNET_ERR_LIMIT: return "limit exceeded";
    case MNET_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

void mnet_options_init(mnet_options *options) {
    if (!options) return;
    memset(options, 0, sizeof *options);
    options->threads = 0;
    options->isa = NULL;
    options->precision = MNET_PRECISION_AUTO;
    options->max_session_bytes = 0;
}

mnet_status mnet_fail(mnet_error *error, mnet_status status, const char *fmt, ...) {
    if (error) {
        /* Formatted into a copy first: callers may pass error->message as an
         * argument, and vsnprintf must not read the buffer it writes. */
        char message[sizeof error->message];
        va_list args;
        va_start(args, fmt);
        vsnprintf(message, sizeof message, fmt, args);
        va_end(args);
        memcpy(error->message, message, sizeof message);
        error->status = status;
    }
    return status;
}

void mnet_error_prefix(mnet_error *error, const char *fmt, ...) {
    if (!error) return;
    char prefix[sizeof error->message];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, args);
    va_end(args);
    if (n <= 0) return;
    size_t plen = strlen(prefix);
    /* The message may be uninitialized garbage without a terminator. */
    const char *end = memchr(error->message, '\0', sizeof error->message);
    size_t mlen = end ? (size_t)(end - error->message) : sizeof error->message - 1;
    size_t room = sizeof error->message - 1;
    if (plen >= room) {
        memcpy(error->message, prefix, room);
        error->message[room] = '\0';
        return;
    }
    size_t keep = mlen < room - plen ? mlen : room - plen;
    memmove(error->message + plen, error->message, keep);
    memcpy(error->message, prefix, plen);
    error->message[plen + keep] = '\0';
}

void mnet_error_clear(mnet_error *error) {
    if (!error) return;
    error->status = MNET_OK;
    error->message[0] = '\0';
}
