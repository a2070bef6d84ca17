/* One-line error messages and the mapping of library statuses to exit codes. */
#include "cli_report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli_exit.h"

static void write_one_line(const char *text) {
    for (const char *c = text; *c; c++) fputc(*c == '\n' || *c == '\r' ? ' ' : *c, stderr);
}

void cli_error(const char *format, ...) {
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    fputs("mnet: ", stderr);
    write_one_line(message);
    fputc('\n', stderr);
}

void cli_file_error(const char *path, const char *message) {
    if (message && *message && strstr(message, path))
        cli_error("%s", message);
    else
        cli_error("%s: %s", path, message && *message ? message : "unknown error");
}

int cli_exit_for_model_status(mnet_status status) {
    switch (status) {
    case MNET_ERR_OUT_OF_MEMORY:
    case MNET_ERR_INTERNAL:
        return CLI_EXIT_INTERNAL;
    default:
        return CLI_EXIT_BAD_MODEL;
    }
}
