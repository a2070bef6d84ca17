/* Error helpers: messages, prefixes, truncation, status names, defaults. */
#include <string.h>

#include "core/error.h"
#include "test_util.h"

int main(void) {
    mnet_error err;
    memset(&err, 'x', sizeof err); /* no terminator anywhere */
    CHECK(mnet_fail(&err, MNET_ERR_FORMAT, "tensor '%s': %d bytes", "w", 12) == MNET_ERR_FORMAT);
    CHECK(err.status == MNET_ERR_FORMAT && strcmp(err.message, "tensor 'w': 12 bytes") == 0);
    mnet_error_prefix(&err, "%s: ", "model.safetensors");
    CHECK(strcmp(err.message, "model.safetensors: tensor 'w': 12 bytes") == 0);
    CHECK(err.status == MNET_ERR_FORMAT);

    /* The message may be an argument of the next message. */
    mnet_fail(&err, MNET_ERR_MODEL, "outer (%s)", err.message);
    CHECK(strcmp(err.message, "outer (model.safetensors: tensor 'w': 12 bytes)") == 0);

    /* Long messages and prefixes are cut, always terminated. */
    char long_text[2000];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    mnet_fail(&err, MNET_ERR_IO, "%s", long_text);
    CHECK(strlen(err.message) == sizeof err.message - 1);
    mnet_error_prefix(&err, "pre: ");
    CHECK(strncmp(err.message, "pre: aaa", 8) == 0 && strlen(err.message) == sizeof err.message - 1);
    mnet_error_prefix(&err, "%s", long_text);
    CHECK(strlen(err.message) == sizeof err.message - 1 && err.message[0] == 'a');

    memset(&err, 'x', sizeof err);
    mnet_error_prefix(&err, "p: ");
    CHECK(strlen(err.message) < sizeof err.message);
    mnet_error_clear(&err);
    CHECK(err.status == MNET_OK && err.message[0] == '\0');
    CHECK(mnet_fail(NULL, MNET_ERR_LIMIT, "ignored") == MNET_ERR_LIMIT);
    mnet_error_prefix(NULL, "x");
    mnet_error_clear(NULL);

    /* Every status has its own name. */
    for (int a = MNET_OK; a <= MNET_ERR_INTERNAL; a++) {
        const char *name = mnet_status_string((mnet_status)a);
        CHECK(name && name[0] && strcmp(name, "unknown status") != 0);
        for (int b = MNET_OK; b < a; b++) CHECK(strcmp(name, mnet_status_string((mnet_status)b)) != 0);
    }
    CHECK(strcmp(mnet_status_string((mnet_status)99), "unknown status") == 0);

    mnet_options options;
    memset(&options, 0x5A, sizeof options);
    mnet_options_init(&options);
    CHECK(options.threads == 0 && options.isa == NULL);
    CHECK(options.precision == MNET_PRECISION_AUTO && options.max_session_bytes == 0);
    mnet_options_init(NULL);
    TEST_MAIN_END();
}
