/* Model files that ask for absurd resources must be refused before the
 * memory is allocated, and model paths that are not regular files must not
 * block. Each check runs in a forked child under an address-space limit
 * (RLIMIT_AS; not applied under sanitizers, which reserve huge shadow
 * regions) and an alarm, so "allocates little" and "does not hang" are
 * measured, not assumed. */
#define _DEFAULT_SOURCE

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "limits_child.h"
#include "mnet.h"
#include "model_builder.h"
#include "test_util.h"

#define MIB ((size_t)1 << 20)

static char tmp_dir[256];

/* ---- files ------------------------------------------------------------- */

static int write_bytes(const char *path, const void *bytes, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t written = fwrite(bytes, 1, size, f);
    return fclose(f) == 0 && written == size ? 0 : -1;
}

/* A safetensors file whose header is `json` (padded to 8 bytes) followed
 * by data_bytes zero bytes. */
static unsigned char *header_file(const char *json, size_t data_bytes, size_t *size) {
    size_t n = strlen(json);
    size_t padded = (n + 7) / 8 * 8;
    *size = 8 + padded + data_bytes;
    unsigned char *file = calloc(1, *size);
    for (int i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(file + 8, json, n);
    memset(file + 8 + n, ' ', padded - n);
    return file;
}

/* ---- a deep network with a 4096x4096 input ----------------------------- */

typedef struct big_input_case {
    const unsigned char *file;
    size_t size;
    size_t limit; /* max_session_bytes */
} big_input_case;

/* In the child: load (must succeed in the limited address space), then
 * create a session with and without max_session_bytes. Exit code: 0 all
 * as expected, else the number of the failed expectation. */
static int big_input_child(void *arg) {
    big_input_case *c = arg;
    mnet_options options;
    mnet_options_init(&options);
    options.threads = 1;
    options.max_session_bytes = c->limit;
    mnet_model *model = NULL;
    mnet_error error;
    if (mnet_model_load_memory(c->file, c->size, &options, &model, &error) != MNET_OK) {
        fprintf(stderr, "4096x4096 model does not load: %s\n", error.message);
        return 1;
    }
    mnet_model_info info;
    if (mnet_model_get_info(model, &info) != MNET_OK || info.input_width != 4096) return 2;
    mnet_session *session = NULL;
    mnet_status st = mnet_session_create(model, NULL, &session, &error);
    if (st != MNET_ERR_LIMIT || session || !strstr(error.message, "bytes")) {
        fprintf(stderr, "session under a %zu-byte limit: status %d (%s)\n", c->limit, (int)st,
                error.message);
        mnet_session_destroy(session);
        mnet_model_destroy(model);
        return 3;
    }
    printf("  session with max_session_bytes %zu -> %s: %.120s\n", c->limit,
           mnet_status_string(st), error.message);
    mnet_model_destroy(model);
    /* Without the option, the session needs more than the address space
     * allows: an honest out-of-memory status, not a crash. Under a
     * sanitizer no limit applies and the session would really be made, so
     * that half is skipped. */
    if (LIMITS_UNDER_SANITIZER) return 0;
    options.max_session_bytes = 0;
    if (mnet_model_load_memory(c->file, c->size, &options, &model, &error) != MNET_OK) return 4;
    st = mnet_session_create(model, NULL, &session, &error);
    int rc = st == MNET_ERR_OUT_OF_MEMORY && !session ? 0 : 5;
    if (rc)
        fprintf(stderr, "unlimited session in a limited address space: status %d (%s)\n",
                (int)st, error.message);
    else
        printf("  session without a limit, 384 MiB address space -> %s\n",
               mnet_status_string(st));
    mnet_session_destroy(session);
    mnet_model_destroy(model);
    return rc;
}

static void test_big_input(void) {
    char config[1024];
    mb_classifier_config(config, sizeof config, "mobilenet_v2", 0.35, 4096, 4096, 10, -1);
    char why[600];
    size_t size;
    unsigned char *file = mb_build(config, 10, 41, &size, why, sizeof why);
    CHECK_MSG(file != NULL, "cannot build the 4096x4096 model: %s", why);
    if (!file) return;
    big_input_case c = {file, size, 128 * MIB};
    /* The model file is already in memory; loading must fit in what is
     * left of 384 MiB, while the session would need several GiB. */
    int rc = run_in_child(big_input_child, &c, 384 * MIB, 120);
    CHECK_MSG(rc == 0, "4096x4096 input: child exit %d", rc);

    /* One side above the maximum is a config error at load. */
    mb_classifier_config(config, sizeof config, "mobilenet_v2", 0.35, 4097, 64, 10, -1);
    mnet_model *model = NULL;
    mnet_error error;
    size_t bad_size = 0;
    static const mb_model no_tensors;
    unsigned char *bad = mb_serialize(&no_tensors, config, 0, &bad_size);
    CHECK(bad != NULL);
    if (!bad) {
        free(file);
        return;
    }
    mnet_status st = mnet_model_load_memory(bad, bad_size, NULL, &model, &error);
    CHECK_MSG(st == MNET_ERR_MODEL && model == NULL && strstr(error.message, "height"),
              "input 4097: status %d, %s", (int)st, error.message);
    free(bad);
    free(file);
}

/* ---- header-level absurdities ------------------------------------------ */

typedef struct file_case {
    const char *name;
    const unsigned char *bytes; /* in memory; or */
    const char *path;           /* a file to load */
    size_t size;
    mnet_status expect;         /* MNET_OK = any failure status accepted */
    const char *message_part;   /* must appear in the message, or NULL */
} file_case;

static int file_case_child(void *arg) {
    const file_case *c = arg;
    mnet_model *model = NULL;
    mnet_error error;
    error.message[0] = '\0';
    mnet_status st = c->path ? mnet_model_load(c->path, NULL, &model, &error)
                             : mnet_model_load_memory(c->bytes, c->size, NULL, &model, &error);
    mnet_model_destroy(model);
    printf("  %-38s -> %s: %.90s\n", c->name, mnet_status_string(st), error.message);
    if (st == MNET_OK) {
        fprintf(stderr, "%s: accepted\n", c->name);
        return 1;
    }
    if (c->expect != MNET_OK && st != c->expect) {
        fprintf(stderr, "%s: status %s, expected %s (%s)\n", c->name, mnet_status_string(st),
                mnet_status_string(c->expect), error.message);
        return 2;
    }
    if (error.message[0] == '\0' || (c->message_part && !strstr(error.message, c->message_part))) {
        fprintf(stderr, "%s: message '%s' lacks '%s'\n", c->name, error.message,
                c->message_part ? c->message_part : "");
        return 3;
    }
    return 0;
}

static void expect_rejected(const file_case *c, size_t address_space, int seconds) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = run_in_child(file_case_child, (void *)c, address_space, seconds);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double elapsed = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECK_MSG(rc == 0, "%s: child exit %d%s", c->name, rc,
              rc == CHILD_KILLED_BY_ALARM ? " (hung)" : "");
    printf("  %-38s    (in %.3f s)\n", "", elapsed);
}

static void test_huge_tensors(void) {
    static const struct {
        const char *name, *json, *part;
    } cases[] = {
        {"2^60-byte tensor, offsets to match",
         "{\"w\": {\"dtype\": \"F32\", \"shape\": [268435456, 1073741824], "
         "\"data_offsets\": [0, 1152921504606846976]}}",
         "data_offsets"},
        {"2^60-byte tensor, 8 data bytes",
         "{\"w\": {\"dtype\": \"F32\", \"shape\": [268435456, 1073741824], "
         "\"data_offsets\": [0, 8]}}",
         "needs"},
        {"shape product overflows 64 bits",
         "{\"w\": {\"dtype\": \"F16\", \"shape\": [9007199254740992, 9007199254740992, 4], "
         "\"data_offsets\": [0, 8]}}",
         "overflows"},
        {"offset beyond 2^53",
         "{\"w\": {\"dtype\": \"U8\", \"shape\": [8], "
         "\"data_offsets\": [18446744073709551608, 18446744073709551616]}}",
         "data_offsets"},
        {"negative dimension",
         "{\"w\": {\"dtype\": \"U8\", \"shape\": [-8], \"data_offsets\": [0, 8]}}", "shape"},
        {"rank 9",
         "{\"w\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,8], "
         "\"data_offsets\": [0, 8]}}",
         "rank"},
        {"1e300 classes",
         "{\"__metadata__\": {\"format\": \"mnet\", \"mnet.format_version\": \"1\", "
         "\"mnet.config\": \"{\\\"architecture\\\": \\\"mobilenet_v1\\\", "
         "\\\"depth_multiplier\\\": 1, \\\"padding\\\": \\\"tf_same\\\", \\\"input\\\": "
         "{\\\"height\\\": 224, \\\"width\\\": 224, \\\"channels\\\": 3, \\\"color\\\": "
         "\\\"rgb\\\", \\\"mean\\\": [0,0,0], \\\"std\\\": [1,1,1]}, \\\"num_classes\\\": 1e300}\"}}",
         "num_classes"},
        {"depth multiplier 1e9",
         "{\"__metadata__\": {\"format\": \"mnet\", \"mnet.format_version\": \"1\", "
         "\"mnet.config\": \"{\\\"architecture\\\": \\\"mobilenet_v2\\\", "
         "\\\"depth_multiplier\\\": 1e9, \\\"padding\\\": \\\"tf_same\\\", \\\"input\\\": "
         "{\\\"height\\\": 224, \\\"width\\\": 224, \\\"channels\\\": 3, \\\"color\\\": "
         "\\\"rgb\\\", \\\"mean\\\": [0,0,0], \\\"std\\\": [1,1,1]}, \\\"num_classes\\\": 5}\"}}",
         "depth_multiplier"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t size;
        unsigned char *file = header_file(cases[i].json, 8, &size);
        file_case c = {cases[i].name, file, NULL, size, MNET_OK, cases[i].part};
        /* 64 MiB of address space above what the test already has. */
        expect_rejected(&c, 192 * MIB, 10);
        free(file);
    }
}

static void test_header_length(void) {
    unsigned char small[16] = {0};
    for (int i = 0; i < 8; i++) small[i] = 0xFF;
    file_case c1 = {"header length 2^64-1", small, NULL, sizeof small, MNET_ERR_FORMAT,
                    "header length"};
    expect_rejected(&c1, 192 * MIB, 10);

    /* Files just above and at the 100 MiB header limit, made sparse so
     * they cost no disk: above is refused before reading, at the limit the
     * JSON parser finds the NUL bytes right after a valid start. */
    const uint64_t limit = (uint64_t)100 << 20;
    const uint64_t lengths[2] = {limit + 8, limit};
    const char *names[2] = {"header length 100 MiB + 8", "header length 100 MiB (NULs)"};
    const mnet_status expect[2] = {MNET_ERR_LIMIT, MNET_ERR_FORMAT};
    for (int k = 0; k < 2; k++) {
        char path[300];
        snprintf(path, sizeof path, "%s/long_header_%d.safetensors", tmp_dir, k);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        CHECK(fd >= 0);
        if (fd < 0) continue;
        unsigned char head[10];
        for (int i = 0; i < 8; i++) head[i] = (unsigned char)(lengths[k] >> (8 * i));
        head[8] = '{';
        head[9] = ' ';
        CHECK(write(fd, head, sizeof head) == (ssize_t)sizeof head);
        CHECK(ftruncate(fd, (off_t)(8 + lengths[k] + 16)) == 0);
        close(fd);
        file_case c = {names[k], NULL, path, 0, expect[k], NULL};
        expect_rejected(&c, 192 * MIB, 20);
        unlink(path);
    }

    /* A 100 MiB header that is valid JSON: an object holding one array of
     * fifty million zeros. Parsing it may not exceed the address space; an
     * out-of-memory status is a correct answer, a crash is not. Skipped
     * under sanitizers, where no limit protects the machine. */
    if (LIMITS_UNDER_SANITIZER) {
        printf("  (100 MiB JSON header skipped under a sanitizer)\n");
        return;
    }
    char path[300];
    snprintf(path, sizeof path, "%s/numbers.safetensors", tmp_dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    size_t body = (size_t)limit;
    unsigned char length[8];
    for (int i = 0; i < 8; i++) length[i] = (unsigned char)((uint64_t)body >> (8 * i));
    fwrite(length, 1, 8, f);
    const char open_text[] = "{\"a\": [0";
    fwrite(open_text, 1, sizeof open_text - 1, f);
    size_t written = sizeof open_text - 1;
    static char chunk[1 << 16];
    for (size_t i = 0; i < sizeof chunk; i += 2) memcpy(chunk + i, ",0", 2);
    while (written + sizeof chunk + 2 <= body) {
        fwrite(chunk, 1, sizeof chunk, f);
        written += sizeof chunk;
    }
    fwrite("]}", 1, 2, f);
    written += 2;
    for (; written < body; written++) fputc(' ', f);
    fclose(f);
    file_case c = {"100 MiB JSON header of 52M numbers", NULL, path, 0, MNET_OK, NULL};
    expect_rejected(&c, 768 * MIB, 60);
    unlink(path);
}

/* ---- model paths that are not regular files ---------------------------- */

static void test_paths(void) {
    char fifo[300], dir[300], empty[300], link[300];
    snprintf(fifo, sizeof fifo, "%s/model.fifo", tmp_dir);
    snprintf(dir, sizeof dir, "%s/model.dir", tmp_dir);
    snprintf(empty, sizeof empty, "%s/empty.safetensors", tmp_dir);
    snprintf(link, sizeof link, "%s/fifo_link.safetensors", tmp_dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(mkdir(dir, 0700) == 0);
    CHECK(write_bytes(empty, "", 0) == 0);
    CHECK(symlink(fifo, link) == 0);
    const file_case cases[] = {
        {"FIFO without a writer", NULL, fifo, 0, MNET_ERR_IO, "FIFO"},
        {"symlink to the FIFO", NULL, link, 0, MNET_ERR_IO, "FIFO"},
        {"/dev/zero", NULL, "/dev/zero", 0, MNET_ERR_IO, "character device"},
        {"/dev/null", NULL, "/dev/null", 0, MNET_ERR_IO, "character device"},
        {"a directory", NULL, dir, 0, MNET_ERR_IO, "directory"},
        {"an empty file", NULL, empty, 0, MNET_ERR_FORMAT, "8-byte"},
        {"a missing file", NULL, "/nonexistent/model.safetensors", 0, MNET_ERR_IO, "cannot open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_rejected(&cases[i], 192 * MIB, 5);
    unlink(link);
    unlink(fifo);
    rmdir(dir);
    unlink(empty);
}

/* ---- a real model loads in little memory -------------------------------- */

static int load_bundled_child(void *arg) {
    mnet_model *model = NULL;
    mnet_error error;
    mnet_status st = mnet_model_load((const char *)arg, NULL, &model, &error);
    if (st != MNET_OK) fprintf(stderr, "%s\n", error.message);
    mnet_model_destroy(model);
    return st == MNET_OK ? 0 : 1;
}

static void test_bundled_load_is_small(void) {
    const char *source = getenv("MNET_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/mobilenet_v2_1.0_224.safetensors", source ? source : ".");
    if (access(path, R_OK) != 0) {
        printf("  (bundled MobileNet V2 absent: skipped)\n");
        return;
    }
    /* 14 MB of weights mapped and repacked to fp32 fit in 256 MiB of
     * address space including the program itself. */
    int rc = run_in_child(load_bundled_child, path, 256 * MIB, 60);
    CHECK_MSG(rc == 0, "bundled MobileNet V2 under a 256 MiB address space: exit %d", rc);
    printf("  MobileNet V2 1.0 224 loads under a 256 MiB address space: %s\n",
           rc == 0 ? "yes" : "NO");
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/mnet_limits_XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("deep network, 4096x4096 input:\n");
    test_big_input();
    printf("absurd tensors and metadata:\n");
    test_huge_tensors();
    printf("header length:\n");
    test_header_length();
    printf("model paths:\n");
    test_paths();
    printf("bundled model load:\n");
    test_bundled_load_is_small();
    rmdir(tmp_dir);
    TEST_MAIN_END();
}
