/* A small, bounds-checked JSON parser producing a read-only tree.
 *
 * Built for untrusted model headers: input length, nesting depth and node
 * count are bounded, strings are unescaped (\uXXXX to UTF-8, surrogate pairs
 * checked), numbers parsed with strtod on a bounded copy. The whole tree
 * lives in one allocation owned by the document. */
#ifndef MNET_CORE_JSON_H
#define MNET_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum mnet_json_type {
    MNET_JSON_NULL = 0,
    MNET_JSON_FALSE,
    MNET_JSON_TRUE,
    MNET_JSON_NUMBER,
    MNET_JSON_STRING,
    MNET_JSON_ARRAY,
    MNET_JSON_OBJECT
} mnet_json_type;

typedef struct mnet_json mnet_json;   /* a node */
typedef struct mnet_json_doc mnet_json_doc;

#define MNET_JSON_MAX_DEPTH 64
/* Values (of any type, containers included) in one document. */
#define MNET_JSON_MAX_NODES ((size_t)1 << 22)
/* Longest number literal accepted, in characters. */
#define MNET_JSON_MAX_NUMBER_CHARS 256

/* Parses text[0..size) (need not be NUL-terminated). On failure returns
 * MNET_ERR_FORMAT with the byte offset in the message. */
mnet_status mnet_json_parse(const char *text, size_t size, mnet_json_doc **doc,
                            mnet_error *error);
void mnet_json_free(mnet_json_doc *doc);
const mnet_json *mnet_json_root(const mnet_json_doc *doc);

mnet_json_type mnet_json_type_of(const mnet_json *node);
/* Objects and arrays: number of members / elements. 0 for others. */
size_t mnet_json_size(const mnet_json *node);
/* Array element or object member value by position; NULL when out of range. */
const mnet_json *mnet_json_at(const mnet_json *node, size_t index);
/* Object member key by position (NULL if not an object / out of range). */
const char *mnet_json_key_at(const mnet_json *node, size_t index);
/* Object member by key (first match), NULL if absent or not an object. */
const mnet_json *mnet_json_get(const mnet_json *node, const char *key);
/* NUL-terminated unescaped string; NULL if not a string. string_length gives
 * the byte length (strings may contain \u0000). */
const char *mnet_json_string(const mnet_json *node);
size_t mnet_json_string_length(const mnet_json *node);
/* Number value; 0 and *ok = 0 if not a number (ok may be NULL). */
double mnet_json_number(const mnet_json *node, int *ok);

#endif
