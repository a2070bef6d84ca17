/* JSON parser: structure, unescaping, numbers, and a list of malformed
 * documents that must each be rejected with MNET_ERR_FORMAT. */
#include <locale.h>
#include <string.h>

#include "core/json.h"
#include "test_util.h"

static mnet_json_doc *parse_ok(const char *text) {
    mnet_json_doc *doc = NULL;
    mnet_error err;
    mnet_status st = mnet_json_parse(text, strlen(text), &doc, &err);
    CHECK_MSG(st == MNET_OK, "'%s': %s", text, err.message);
    return st == MNET_OK ? doc : NULL;
}

static void test_structure(void) {
    mnet_json_doc *doc = parse_ok(
        " {\"a\": 1, \"b\": [true, false, null, \"s\"], \"c\": {\"d\": {}, \"e\": []}} \n\t\r ");
    if (!doc) return;
    const mnet_json *root = mnet_json_root(doc);
    CHECK(mnet_json_type_of(root) == MNET_JSON_OBJECT);
    CHECK(mnet_json_size(root) == 3);
    CHECK(strcmp(mnet_json_key_at(root, 0), "a") == 0);
    CHECK(strcmp(mnet_json_key_at(root, 2), "c") == 0);
    CHECK(mnet_json_key_at(root, 3) == NULL);
    int ok = 0;
    CHECK(mnet_json_number(mnet_json_get(root, "a"), &ok) == 1.0 && ok);
    const mnet_json *b = mnet_json_get(root, "b");
    CHECK(mnet_json_type_of(b) == MNET_JSON_ARRAY && mnet_json_size(b) == 4);
    CHECK(mnet_json_type_of(mnet_json_at(b, 0)) == MNET_JSON_TRUE);
    CHECK(mnet_json_type_of(mnet_json_at(b, 1)) == MNET_JSON_FALSE);
    CHECK(mnet_json_type_of(mnet_json_at(b, 2)) == MNET_JSON_NULL);
    CHECK(strcmp(mnet_json_string(mnet_json_at(b, 3)), "s") == 0);
    CHECK(mnet_json_at(b, 4) == NULL);
    CHECK(mnet_json_key_at(b, 0) == NULL);
    CHECK(mnet_json_get(b, "a") == NULL);
    const mnet_json *c = mnet_json_get(root, "c");
    CHECK(mnet_json_type_of(mnet_json_get(c, "d")) == MNET_JSON_OBJECT);
    CHECK(mnet_json_size(mnet_json_get(c, "d")) == 0);
    CHECK(mnet_json_size(mnet_json_get(c, "e")) == 0);
    CHECK(mnet_json_get(root, "missing") == NULL);
    CHECK(mnet_json_string(mnet_json_get(root, "a")) == NULL);
    CHECK(mnet_json_number(mnet_json_get(root, "b"), &ok) == 0.0 && !ok);
    CHECK(mnet_json_number(NULL, NULL) == 0.0);
    CHECK(mnet_json_size(mnet_json_at(b, 3)) == 0);
    mnet_json_free(doc);

    doc = parse_ok("{\"k\": 1, \"k\": 2}");
    if (doc) {
        CHECK(mnet_json_size(mnet_json_root(doc)) == 2);
        CHECK(mnet_json_number(mnet_json_get(mnet_json_root(doc), "k"), NULL) == 1.0);
        mnet_json_free(doc);
    }
    /* Scalars are valid roots. */
    doc = parse_ok("\"only\"");
    if (doc) {
        CHECK(strcmp(mnet_json_string(mnet_json_root(doc)), "only") == 0);
        mnet_json_free(doc);
    }
}

static void check_string(const char *json, const char *expected, size_t expected_length) {
    mnet_json_doc *doc = parse_ok(json);
    if (!doc) return;
    const mnet_json *s = mnet_json_root(doc);
    CHECK_MSG(mnet_json_string_length(s) == expected_length, "%s: length %zu", json,
              mnet_json_string_length(s));
    CHECK_MSG(mnet_json_string(s) && memcmp(mnet_json_string(s), expected, expected_length + 1) == 0,
              "%s", json);
    mnet_json_free(doc);
}

static void test_strings(void) {
    check_string("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
    /* UTF-8 encodings from the Unicode tables: U+00E9, U+20AC, U+1F600. */
    check_string("\"\\u00e9\\u20AC\\ud83d\\ude00\"", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9);
    check_string("\"\\u0041\\u007f\\u0080\\u07ff\\u0800\\uffff\"",
                 "A\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF", 12);
    /* Highest code point: U+10FFFF. */
    check_string("\"\\udbff\\udfff\"", "\xF4\x8F\xBF\xBF", 4);
    check_string("\"a\\u0000b\"", "a\0b", 3);
    /* Raw UTF-8 and even invalid bytes pass through unchanged. */
    check_string("\"h\xC3\xA9llo \xFF\"", "h\xC3\xA9llo \xFF", 8);
    check_string("\"\"", "", 0);

    mnet_json_doc *doc = parse_ok("{\"\\u006bey\": 5}");
    if (doc) {
        CHECK(mnet_json_number(mnet_json_get(mnet_json_root(doc), "key"), NULL) == 5.0);
        mnet_json_free(doc);
    }
}

static void check_number(const char *json, double expected) {
    mnet_json_doc *doc = parse_ok(json);
    if (!doc) return;
    int ok = 0;
    double v = mnet_json_number(mnet_json_root(doc), &ok);
    CHECK_MSG(ok && memcmp(&v, &expected, sizeof v) == 0, "%s parsed as %.17g, expected %.17g",
              json, v, expected);
    mnet_json_free(doc);
}

static void test_numbers(void) {
    check_number("0", 0.0);
    check_number("-0", -0.0);
    check_number("7", 7.0);
    check_number("-12", -12.0);
    check_number("1.5", 1.5);
    check_number("-12.25e2", -1225.0);
    check_number("1E3", 1000.0);
    check_number("2e-3", 2e-3);
    check_number("2E+3", 2000.0);
    check_number("0.875", 0.875);
    check_number("123456789012", 123456789012.0);
    check_number("1.7976931348623157e308", 1.7976931348623157e308);
    check_number("4.9e-324", 4.9e-324);
    check_number("1e-400", 0.0); /* underflow rounds to zero; not an error */

    /* Round trip of random doubles through their shortest exact text. */
    test_rng rng = {0x9E3779B97F4A7C15ull};
    for (int i = 0; i < 2000; i++) {
        uint64_t bits = test_rng_next(&rng);
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v)) continue;
        char text[64];
        snprintf(text, sizeof text, "%.17g", v);
        check_number(text, v);
    }

    /* strtod follows LC_NUMERIC; the parser must not. */
    const char *locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "C.UTF-8"};
    for (size_t i = 0; i < sizeof locales / sizeof locales[0]; i++) {
        if (setlocale(LC_NUMERIC, locales[i])) {
            check_number("1.25", 1.25);
            check_number("-3.5e1", -35.0);
        }
    }
    setlocale(LC_NUMERIC, "C");
}

static void expect_invalid(const char *text, size_t size) {
    mnet_json_doc *doc = (mnet_json_doc *)&doc; /* must be reset to NULL */
    mnet_error err;
    err.message[0] = '\0';
    mnet_status st = mnet_json_parse(text, size, &doc, &err);
    CHECK_MSG(st == MNET_ERR_FORMAT, "accepted invalid JSON '%.*s'", (int)size, text);
    CHECK(doc == NULL);
    CHECK_MSG(st == MNET_OK || strstr(err.message, "at byte ") != NULL, "message '%s'",
              err.message);
    if (st == MNET_OK) mnet_json_free(doc);
}

static void test_invalid(void) {
    static const char *const invalid[] = {
        "", " ", "{", "}", "[", "]", "[1,]", "[1 2]", "[,1]", "[1,,2]", "{\"a\"}", "{\"a\":}",
        "{a:1}", "{\"a\":1,}", "{\"a\":1 \"b\":2}", "{,}", "{\"a\" 1}", "{1:2}", "01", "-01", "1.",
        ".5", "-", "+1", "1e", "1e+", "1.e5", "0x10", "NaN", "Infinity", "-Infinity", "tru",
        "nul", "falsey", "True", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\ud800\"",
        "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"", "\"\\ud800\\\"", "\"\\",
        "\"tab\there\"", "\"nl\n\"", "\"\x01\"", "[1] x", "{} {}", "1 2", "1e999", "-1e999",
        "'a'", "[\"a\" \"b\"]", "{\"a\":[}", "[{]}", "\xEF\xBB\xBF{}", "{\"a\":1}}", "[1]]",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        expect_invalid(invalid[i], strlen(invalid[i]));

    /* An embedded NUL byte in the text is not whitespace. */
    expect_invalid("[1]\0", 4);
    expect_invalid("[\"a\0b\"]", 7);

    /* Every proper prefix of an object document is incomplete. */
    const char *doc = "{\"shape\": [1, 2.5e-3, -7], \"s\": \"\\ud83d\\ude00x\", \"o\": {\"t\": true}}";
    for (size_t n = 0; n < strlen(doc); n++) expect_invalid(doc, n);

    /* A number literal longer than the limit. */
    char longnum[MNET_JSON_MAX_NUMBER_CHARS + 10];
    memset(longnum, '1', sizeof longnum - 1);
    longnum[sizeof longnum - 1] = '\0';
    expect_invalid(longnum, strlen(longnum));

    mnet_json_doc *out;
    CHECK(mnet_json_parse(NULL, 3, &out, NULL) == MNET_ERR_INVALID_ARGUMENT);
    CHECK(mnet_json_parse("{}", 2, NULL, NULL) == MNET_ERR_INVALID_ARGUMENT);
}

static void test_depth(void) {
    char text[2 * (MNET_JSON_MAX_DEPTH + 1) + 1];
    for (int depth = MNET_JSON_MAX_DEPTH; depth <= MNET_JSON_MAX_DEPTH + 1; depth++) {
        for (int i = 0; i < depth; i++) text[i] = '[';
        for (int i = 0; i < depth; i++) text[depth + i] = ']';
        text[2 * depth] = '\0';
        mnet_json_doc *doc = NULL;
        mnet_error err;
        mnet_status st = mnet_json_parse(text, (size_t)(2 * depth), &doc, &err);
        if (depth <= MNET_JSON_MAX_DEPTH) {
            CHECK_MSG(st == MNET_OK, "depth %d: %s", depth, err.message);
            const mnet_json *node = mnet_json_root(doc);
            int seen = 0;
            while (mnet_json_type_of(node) == MNET_JSON_ARRAY) {
                seen++;
                node = mnet_json_at(node, 0);
            }
            CHECK(seen == depth);
            mnet_json_free(doc);
        } else {
            CHECK(st == MNET_ERR_FORMAT && strstr(err.message, "nesting") != NULL);
        }
    }
    /* Mixed objects and arrays, one level too deep. */
    char mixed[16 * (MNET_JSON_MAX_DEPTH + 1) + 16];
    size_t n = 0;
    for (int i = 0; i <= MNET_JSON_MAX_DEPTH; i++) n += (size_t)sprintf(mixed + n, "{\"k\":[");
    mixed[n] = '\0';
    mnet_json_doc *doc = NULL;
    mnet_error err;
    CHECK(mnet_json_parse(mixed, n, &doc, &err) == MNET_ERR_FORMAT);
    CHECK(strstr(err.message, "nesting") != NULL);
}

/* Random arrays of random integers: every element comes back. */
static void test_random_arrays(void) {
    test_rng rng = {12345};
    for (int round = 0; round < 50; round++) {
        int count = test_rng_int(&rng, 0, 300);
        int *values = malloc(sizeof(int) * (size_t)(count + 1));
        char *text = malloc((size_t)count * 16 + 8);
        size_t n = 0;
        text[n++] = '[';
        for (int i = 0; i < count; i++) {
            values[i] = test_rng_int(&rng, -1000000, 1000000);
            n += (size_t)sprintf(text + n, "%s%d", i ? (i % 3 ? "," : " ,\n") : "", values[i]);
        }
        text[n++] = ']';
        mnet_json_doc *doc = NULL;
        mnet_error err;
        CHECK(mnet_json_parse(text, n, &doc, &err) == MNET_OK);
        const mnet_json *root = mnet_json_root(doc);
        CHECK(mnet_json_size(root) == (size_t)count);
        int mismatches = 0;
        for (int i = 0; i < count && doc; i++)
            if (mnet_json_number(mnet_json_at(root, (size_t)i), NULL) != values[i]) mismatches++;
        CHECK(mismatches == 0);
        mnet_json_free(doc);
        free(values);
        free(text);
    }
}

static void test_node_limit(void) {
    size_t count = MNET_JSON_MAX_NODES; /* plus the array itself: one too many */
    char *text = malloc(2 * count + 2);
    if (!text) return;
    size_t n = 0;
    text[n++] = '[';
    for (size_t i = 0; i < count; i++) {
        text[n++] = '0';
        text[n++] = ',';
    }
    text[n - 1] = ']';
    mnet_json_doc *doc = NULL;
    mnet_error err;
    CHECK(mnet_json_parse(text, n, &doc, &err) == MNET_ERR_FORMAT);
    CHECK(strstr(err.message, "MNET_JSON_MAX_NODES") != NULL);
    /* One element fewer fits exactly. */
    text[n - 3] = ']';
    CHECK(mnet_json_parse(text, n - 2, &doc, &err) == MNET_OK);
    CHECK(mnet_json_size(mnet_json_root(doc)) == count - 1);
    mnet_json_free(doc);
    free(text);
}

int main(void) {
    test_structure();
    test_strings();
    test_numbers();
    test_invalid();
    test_depth();
    test_random_arrays();
    test_node_limit();
    TEST_MAIN_END();
}
