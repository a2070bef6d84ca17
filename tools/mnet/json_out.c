/* JSON string escaping with UTF-8 validation. */
#include "json_out.h"

#include <math.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is invalid:
 * overlong forms, surrogates and code points above U+10FFFF are rejected. */
static size_t utf8_sequence_length(const unsigned char *s) {
    unsigned lead = s[0];
    size_t length;
    unsigned code;
    if (lead < 0x80) return 1;
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
        code = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        code = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        code = lead & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < length; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0; /* also stops at the NUL */
        code = (code << 6) | (s[i] & 0x3f);
    }
    if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
        (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
        return 0;
    return length;
}

void json_write_string(FILE *out, const char *text) {
    const unsigned char *s = (const unsigned char *)text;
    fputc('"', out);
    while (*s) {
        unsigned c = *s;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc((int)c, out);
            s++;
        } else if (c == '\n') {
            fputs("\\n", out);
            s++;
        } else if (c == '\t') {
            fputs("\\t", out);
            s++;
        } else if (c == '\r') {
            fputs("\\r", out);
            s++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
            s++;
        } else {
            size_t length = utf8_sequence_length(s);
            if (length == 0) {
                fputs("\\ufffd", out);
                s++;
            } else {
                fwrite(s, 1, length, out);
                s += length;
            }
        }
    }
    fputc('"', out);
}

void json_write_number(FILE *out, double value) {
    if (!isfinite(value))
        fputs("null", out);
    else
        fprintf(out, "%.6g", value);
}
