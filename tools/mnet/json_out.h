/* Writing JSON values to a stream: just what the CLI's --json outputs need. */
#ifndef MNET_TOOLS_JSON_OUT_H
#define MNET_TOOLS_JSON_OUT_H

#include <stdio.h>

/* Writes text as a quoted JSON string. Quotes, backslashes and control
 * characters are escaped; bytes that are not valid UTF-8 become U+FFFD so the
 * output is always valid JSON (file names on Linux may be any bytes). */
void json_write_string(FILE *out, const char *text);

/* Writes a float as a JSON number; NaN and infinities, which JSON cannot
 * express, become null. */
void json_write_number(FILE *out, double value);

#endif
