/* Option and number parsing for the CLI. */
#include "cli_args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_report.h"

int cli_option_value(int argc, char **argv, int *index, const char *short_name,
                     const char *long_name, const char **value) {
    const char *arg = argv[*index];
    if (long_name) {
        size_t length = strlen(long_name);
        if (strncmp(arg, long_name, length) == 0 && arg[length] == '=') {
            *value = arg + length + 1;
            return 1;
        }
    }
    if (short_name && strncmp(arg, short_name, 2) == 0 && arg[2] != '\0' &&
        arg[1] != '-') {
        *value = arg + 2; /* "-k3" */
        return 1;
    }
    if (!((short_name && strcmp(arg, short_name) == 0) ||
          (long_name && strcmp(arg, long_name) == 0)))
        return 0;
    if (*index + 1 >= argc) {
        cli_error("option %s needs a value", arg);
        return -1;
    }
    *index += 1;
    *value = argv[*index];
    return 1;
}

int cli_int_option(int argc, char **argv, int *index, const char *long_name, int min, int max,
                   int *out) {
    const char *value;
    int matched = cli_option_value(argc, argv, index, NULL, long_name, &value);
    if (matched <= 0) return matched;
    if (!cli_parse_int(value, min, max, out)) {
        cli_error("%s needs a whole number from %d to %d, not '%s'", long_name, min, max, value);
        return -1;
    }
    return 1;
}

int cli_parse_int(const char *text, int min, int max, int *out) {
    if (!text || !*text) return 0;
    char *end;
    errno = 0;
    long parsed = strtol(text, &end, 10);
    if (errno || *end || parsed < min || parsed > max) return 0;
    *out = (int)parsed;
    return 1;
}

int cli_parse_float(const char *text, double min, double max, double *out) {
    if (!text || !*text) return 0;
    char *end;
    errno = 0;
    double parsed = strtod(text, &end);
    if (errno || *end || !isfinite(parsed) || parsed < min || parsed > max) return 0;
    *out = parsed;
    return 1;
}
