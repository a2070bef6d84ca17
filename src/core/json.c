/* JSON parser for untrusted model headers.
 *
 * Two passes over the text with the same recursive-descent code: the first
 * validates everything and counts values, string bytes and the number of
 * children of every container; the second fills one exactly-sized block.
 * Sharing the code keeps both passes in agreement, and because the children
 * of each container are known up front they are laid out contiguously, so
 * positional access is O(1). Recursion is bounded by MNET_JSON_MAX_DEPTH. */
#include "core/json.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct mnet_json {
    mnet_json_type type;
    size_t size;        /* children of a container, or bytes of a string */
    const char *key;    /* set on object members only */
    size_t key_length;
    union {
        double number;
        const char *string;
        mnet_json *children;
    } value;
};

struct mnet_json_doc {
    mnet_json *root;
};

typedef struct parser {
    const char *text;
    size_t size;
    size_t pos;
    int depth;
    mnet_error *error;
    int building; /* 0: validating/counting pass, 1: filling pass */

    size_t nodes;
    size_t string_bytes;
    /* Children per container, in the order containers open. */
    uint32_t *child_counts;
    size_t containers;
    size_t child_counts_cap;
    size_t next_container;

    mnet_json *pool;
    size_t pool_used;
    char *chars;
    size_t chars_used;
} parser;

static mnet_status syntax_error(parser *p, const char *what) {
    return mnet_fail(p->error, MNET_ERR_FORMAT, "JSON: %s at byte %zu", what, p->pos);
}

static void skip_whitespace(parser *p) {
    while (p->pos < p->size) {
        char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int peek(const parser *p) {
    return p->pos < p->size ? (unsigned char)p->text[p->pos] : -1;
}

static int hex_value(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits after "\u" (p->pos at the first digit). */
static mnet_status read_hex4(parser *p, uint32_t *out) {
    if (p->size - p->pos < 4) return syntax_error(p, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value((unsigned char)p->text[p->pos + (size_t)i]);
        if (h < 0) return syntax_error(p, "bad hex digit in \\u escape");
        v = v * 16 + (uint32_t)h;
    }
    p->pos += 4;
    *out = v;
    return MNET_OK;
}

static size_t utf8_encode(uint32_t cp, char *dst) {
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (dst) memcpy(dst, b, n);
    return n;
}

/* Parses a string literal (p->pos at the opening quote). In the building
 * pass the unescaped bytes plus a NUL go to p->chars. */
static mnet_status parse_string(parser *p, const char **out, size_t *out_length) {
    p->pos++; /* opening quote */
    char *dst = p->building ? p->chars + p->chars_used : NULL;
    size_t length = 0;
    for (;;) {
        if (p->pos >= p->size) return syntax_error(p, "unterminated string");
        unsigned char c = (unsigned char)p->text[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) return syntax_error(p, "control character in string");
        if (c != '\\') {
            if (dst) dst[length] = (char)c;
            length++;
            p->pos++;
            continue;
        }
        p->pos++;
        if (p->pos >= p->size) return syntax_error(p, "unterminated escape");
        char e = p->text[p->pos++];
        char simple = 0;
        switch (e) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': break;
        default: p->pos--; return syntax_error(p, "unknown escape");
        }
        if (e != 'u') {
            if (dst) dst[length] = simple;
            length++;
            continue;
        }
        uint32_t cp;
        mnet_status st = read_hex4(p, &cp);
        if (st != MNET_OK) return st;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return syntax_error(p, "lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (p->size - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
                return syntax_error(p, "high surrogate not followed by a low one");
            p->pos += 2;
            uint32_t low;
            st = read_hex4(p, &low);
            if (st != MNET_OK) return st;
            if (low < 0xDC00 || low > 0xDFFF)
                return syntax_error(p, "high surrogate not followed by a low one");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        length += utf8_encode(cp, dst ? dst + length : NULL);
    }
    if (dst) {
        dst[length] = '\0';
        p->chars_used += length + 1;
        *out = dst;
    } else {
        p->string_bytes += length + 1;
        *out = NULL;
    }
    *out_length = length;
    return MNET_OK;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

/* Strict JSON number grammar, then strtod on a bounded copy that uses the
 * current locale's decimal point (strtod honours LC_NUMERIC). Converted in
 * both passes so that a range error is found in the first. */
static mnet_status parse_number(parser *p, double *out) {
    size_t start = p->pos;
    if (peek(p) == '-') p->pos++;
    if (peek(p) == '0') {
        p->pos++;
    } else if (is_digit(peek(p))) {
        while (is_digit(peek(p))) p->pos++;
    } else {
        return syntax_error(p, "bad number");
    }
    if (peek(p) == '.') {
        p->pos++;
        if (!is_digit(peek(p))) return syntax_error(p, "digit expected after decimal point");
        while (is_digit(peek(p))) p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-') p->pos++;
        if (!is_digit(peek(p))) return syntax_error(p, "digit expected in exponent");
        while (is_digit(peek(p))) p->pos++;
    }
    size_t length = p->pos - start;
    if (length > MNET_JSON_MAX_NUMBER_CHARS) {
        p->pos = start;
        return syntax_error(p, "number literal too long");
    }
    const char *point = localeconv()->decimal_point;
    size_t point_length = point ? strlen(point) : 0;
    if (point_length == 0 || point_length > 8) {
        point = ".";
        point_length = 1;
    }
    char copy[MNET_JSON_MAX_NUMBER_CHARS + 16];
    size_t n = 0;
    for (size_t i = start; i < p->pos; i++) {
        if (p->text[i] == '.') {
            memcpy(copy + n, point, point_length);
            n += point_length;
        } else {
            copy[n++] = p->text[i];
        }
    }
    copy[n] = '\0';
    double value = strtod(copy, NULL);
    if (isinf(value)) {
        p->pos = start;
        return syntax_error(p, "number out of the range of a double");
    }
    *out = value;
    return MNET_OK;
}

static mnet_status parse_literal(parser *p, const char *word) {
    size_t n = strlen(word);
    if (p->size - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return syntax_error(p, "unexpected character");
    p->pos += n;
    return MNET_OK;
}

static mnet_status parse_value(parser *p, mnet_json *node);

/* Reserves the children of the container that is opening: in the first pass
 * a counter slot, in the second the contiguous nodes that slot sized. */
static mnet_status open_container(parser *p, mnet_json *node, size_t *slot) {
    if (++p->depth > MNET_JSON_MAX_DEPTH)
        return syntax_error(p, "nesting deeper than MNET_JSON_MAX_DEPTH (64)");
    if (!p->building) {
        if (p->containers == p->child_counts_cap) {
            size_t cap = p->child_counts_cap ? p->child_counts_cap * 2 : 64;
            uint32_t *grown = realloc(p->child_counts, cap * sizeof *grown);
            if (!grown) return mnet_fail(p->error, MNET_ERR_OUT_OF_MEMORY, "JSON: out of memory");
            p->child_counts = grown;
            p->child_counts_cap = cap;
        }
        *slot = p->containers++;
        p->child_counts[*slot] = 0;
        return MNET_OK;
    }
    *slot = p->next_container++;
    node->size = p->child_counts[*slot];
    node->value.children = p->pool + p->pool_used;
    p->pool_used += node->size;
    return MNET_OK;
}

static mnet_json *child_slot(parser *p, mnet_json *node, size_t slot, size_t index) {
    if (!p->building) {
        p->child_counts[slot]++;
        return NULL;
    }
    return &node->value.children[index];
}

static mnet_status parse_array(parser *p, mnet_json *node) {
    size_t slot;
    mnet_status st = open_container(p, node, &slot);
    if (st != MNET_OK) return st;
    p->pos++; /* '[' */
    skip_whitespace(p);
    if (peek(p) == ']') {
        p->pos++;
        p->depth--;
        return MNET_OK;
    }
    for (size_t index = 0;; index++) {
        st = parse_value(p, child_slot(p, node, slot, index));
        if (st != MNET_OK) return st;
        skip_whitespace(p);
        int c = peek(p);
        p->pos++;
        if (c == ']') break;
        if (c != ',') {
            p->pos--;
            return syntax_error(p, c < 0 ? "unterminated array" : "',' or ']' expected");
        }
        skip_whitespace(p);
    }
    p->depth--;
    return MNET_OK;
}

static mnet_status parse_object(parser *p, mnet_json *node) {
    size_t slot;
    mnet_status st = open_container(p, node, &slot);
    if (st != MNET_OK) return st;
    p->pos++; /* '{' */
    skip_whitespace(p);
    if (peek(p) == '}') {
        p->pos++;
        p->depth--;
        return MNET_OK;
    }
    for (size_t index = 0;; index++) {
        if (peek(p) != '"') return syntax_error(p, "object key (a string) expected");
        const char *key;
        size_t key_length;
        st = parse_string(p, &key, &key_length);
        if (st != MNET_OK) return st;
        skip_whitespace(p);
        if (peek(p) != ':') return syntax_error(p, "':' expected");
        p->pos++;
        skip_whitespace(p);
        mnet_json *member = child_slot(p, node, slot, index);
        st = parse_value(p, member);
        if (st != MNET_OK) return st;
        if (member) {
            member->key = key;
            member->key_length = key_length;
        }
        skip_whitespace(p);
        int c = peek(p);
        p->pos++;
        if (c == '}') break;
        if (c != ',') {
            p->pos--;
            return syntax_error(p, c < 0 ? "unterminated object" : "',' or '}' expected");
        }
        skip_whitespace(p);
    }
    p->depth--;
    return MNET_OK;
}

/* node is NULL in the counting pass. Leading whitespace already skipped. */
static mnet_status parse_value(parser *p, mnet_json *node) {
    mnet_json scratch;
    if (!node) {
        if (++p->nodes > MNET_JSON_MAX_NODES)
            return syntax_error(p, "more values than MNET_JSON_MAX_NODES");
        node = &scratch;
    }
    memset(node, 0, sizeof *node);
    int c = peek(p);
    switch (c) {
    case '{':
        node->type = MNET_JSON_OBJECT;
        return parse_object(p, node == &scratch ? NULL : node);
    case '[':
        node->type = MNET_JSON_ARRAY;
        return parse_array(p, node == &scratch ? NULL : node);
    case '"':
        node->type = MNET_JSON_STRING;
        return parse_string(p, &node->value.string, &node->size);
    case 't':
        node->type = MNET_JSON_TRUE;
        return parse_literal(p, "true");
    case 'f':
        node->type = MNET_JSON_FALSE;
        return parse_literal(p, "false");
    case 'n':
        node->type = MNET_JSON_NULL;
        return parse_literal(p, "null");
    case -1:
        return syntax_error(p, "value expected, found end of input");
    default:
        if (c == '-' || is_digit(c)) {
            node->type = MNET_JSON_NUMBER;
            return parse_number(p, &node->value.number);
        }
        return syntax_error(p, "unexpected character");
    }
}

static mnet_status run_pass(parser *p) {
    p->pos = 0;
    p->depth = 0;
    skip_whitespace(p);
    mnet_json *root = NULL;
    if (p->building) root = &p->pool[p->pool_used++];
    mnet_status st = parse_value(p, root);
    if (st != MNET_OK) return st;
    skip_whitespace(p);
    if (p->pos != p->size) return syntax_error(p, "unexpected data after the JSON value");
    return MNET_OK;
}

mnet_status mnet_json_parse(const char *text, size_t size, mnet_json_doc **doc,
                            mnet_error *error) {
    if (!doc) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "JSON: doc is NULL");
    *doc = NULL;
    if (!text && size > 0) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "JSON: text is NULL");

    parser p;
    memset(&p, 0, sizeof p);
    p.text = text;
    p.size = size;
    p.error = error;
    mnet_status st = run_pass(&p);
    if (st != MNET_OK) {
        free(p.child_counts);
        return st;
    }

    /* Layout: doc header, nodes, string bytes. */
    size_t header = (sizeof(mnet_json_doc) + sizeof(mnet_json) - 1) / sizeof(mnet_json) *
                    sizeof(mnet_json);
    size_t nodes_bytes = p.nodes * sizeof(mnet_json);
    size_t total = header + nodes_bytes + p.string_bytes;
    unsigned char *block = malloc(total ? total : 1);
    if (!block) {
        free(p.child_counts);
        return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "JSON: cannot allocate %zu bytes", total);
    }
    mnet_json_doc *result = (mnet_json_doc *)block;
    p.pool = (mnet_json *)(block + header);
    p.chars = (char *)(block + header + nodes_bytes);
    p.building = 1;
    st = run_pass(&p);
    free(p.child_counts);
    if (st != MNET_OK || p.pool_used != p.nodes || p.chars_used != p.string_bytes) {
        free(block);
        if (st == MNET_OK)
            st = mnet_fail(error, MNET_ERR_INTERNAL, "JSON: passes disagree");
        return st;
    }
    result->root = p.pool;
    *doc = result;
    return MNET_OK;
}

void mnet_json_free(mnet_json_doc *doc) { free(doc); }

const mnet_json *mnet_json_root(const mnet_json_doc *doc) { return doc ? doc->root : NULL; }

mnet_json_type mnet_json_type_of(const mnet_json *node) {
    return node ? node->type : MNET_JSON_NULL;
}

size_t mnet_json_size(const mnet_json *node) {
    if (!node || (node->type != MNET_JSON_ARRAY && node->type != MNET_JSON_OBJECT)) return 0;
    return node->size;
}

const mnet_json *mnet_json_at(const mnet_json *node, size_t index) {
    if (index >= mnet_json_size(node)) return NULL;
    return &node->value.children[index];
}

const char *mnet_json_key_at(const mnet_json *node, size_t index) {
    if (!node || node->type != MNET_JSON_OBJECT || index >= node->size) return NULL;
    return node->value.children[index].key;
}

const mnet_json *mnet_json_get(const mnet_json *node, const char *key) {
    if (!node || !key || node->type != MNET_JSON_OBJECT) return NULL;
    size_t length = strlen(key);
    for (size_t i = 0; i < node->size; i++) {
        const mnet_json *member = &node->value.children[i];
        if (member->key_length == length && memcmp(member->key, key, length) == 0) return member;
    }
    return NULL;
}

const char *mnet_json_string(const mnet_json *node) {
    return node && node->type == MNET_JSON_STRING ? node->value.string : NULL;
}

size_t mnet_json_string_length(const mnet_json *node) {
    return node && node->type == MNET_JSON_STRING ? node->size : 0;
}

double mnet_json_number(const mnet_json *node, int *ok) {
    int is_number = node && node->type == MNET_JSON_NUMBER;
    if (ok) *ok = is_number;
    return is_number ? node->value.number : 0.0;
}
