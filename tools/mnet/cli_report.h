/* Error messages of the CLI: one line on stderr, "mnet: " first. */
#ifndef MNET_TOOLS_CLI_REPORT_H
#define MNET_TOOLS_CLI_REPORT_H

#include "mnet.h"

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* Prints "mnet: <message>\n"; line breaks inside the message become spaces
 * so that every error stays on one line. */
void cli_error(const char *format, ...) CLI_PRINTF(1, 2);

/* Prints an error about a file: "mnet: <path>: <message>", leaving out the
 * path when the message already names it. */
void cli_file_error(const char *path, const char *message);

/* Exit code for a failed mnet_model_load or mnet_session_create: the model's
 * fault (4) or ours/the machine's (5). */
int cli_exit_for_model_status(mnet_status status);

#endif
