/* Small helpers for the sub-commands' option parsing. Options take their
 * value as the next argument or, for long names, after '='
 * ("-k 3", "-k3", "--top 3", "--top=3"). */
#ifndef MNET_TOOLS_CLI_ARGS_H
#define MNET_TOOLS_CLI_ARGS_H

/* If argv[*index] is the option short_name or long_name (either may be
 * NULL), stores its value in *value, advances *index past the value when it
 * was a separate argument, and returns 1. Returns 0 if it is another
 * argument, -1 (with a message on stderr) if the value is missing. */
int cli_option_value(int argc, char **argv, int *index, const char *short_name,
                     const char *long_name, const char **value);

/* The option long_name with a whole number in [min, max] as its value: 1
 * with the number in *out, 0 if argv[*index] is another argument, -1 after
 * a message ("NAME needs a whole number from MIN to MAX, not 'VALUE'" or a
 * missing value). */
int cli_int_option(int argc, char **argv, int *index, const char *long_name, int min, int max,
                   int *out);

/* Parses a whole decimal integer in [min, max]; 1 on success. */
int cli_parse_int(const char *text, int min, int max, int *out);

/* Parses a whole finite decimal number in [min, max]; 1 on success. */
int cli_parse_float(const char *text, double min, double max, double *out);

#endif
