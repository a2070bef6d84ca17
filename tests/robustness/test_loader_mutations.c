/* Random damage to a small model file: byte flips, truncations, header
 * length changes, and edits of the JSON text inside the metadata. The loader
 * must return a status (never crash, read out of bounds or leak: this runs
 * under ASan), and whatever it accepts must be self-consistent. */
#include <string.h>

#include "core/model_config.h"
#include "core/safetensors.h"
#include "test_util.h"

#define ITERATIONS 20000

static const char config_text[] =
    "{\"architecture\": \"mobilenet_v2\", \"name\": \"tiny \\u00e9\", \"depth_multiplier\": 0.35,"
    " \"padding\": \"tf_same\", \"input\": {\"height\": 96, \"width\": 96, \"channels\": 3,"
    " \"color\": \"rgb\", \"mean\": [127.5, 127.5, 127.5], \"std\": [127.5, 127.5, 127.5]},"
    " \"preprocess\": {\"fit\": \"center_crop\", \"crop_fraction\": 0.875}, \"num_classes\": 4}";
static const char labels_text[] = "[\"background\", \"cat\", \"dog\", \"\\ud83d\\ude00\"]";
static const char provenance_text[] = "{\"source\": \"test\", \"sha256\": \"00ff\"}";

/* A model-like file: metadata plus tensors of every dtype. */
static unsigned char *build_file(const char *config, size_t config_length, size_t *size,
                                 test_rng *rng) {
    char *header = malloc(8 * (config_length + sizeof labels_text + sizeof provenance_text) + 1024);
    size_t n = (size_t)sprintf(header, "{\"__metadata__\": {\"format\": \"mnet\", "
                                       "\"mnet.format_version\": \"1\", \"mnet.config\": ");
    n += test_json_string(header + n, config, config_length);
    n += (size_t)sprintf(header + n, ", \"mnet.labels\": ");
    n += test_json_string(header + n, labels_text, strlen(labels_text));
    n += (size_t)sprintf(header + n, ", \"mnet.provenance\": ");
    n += test_json_string(header + n, provenance_text, strlen(provenance_text));
    n += (size_t)sprintf(header + n,
                         "}, \"conv0.weight\": {\"dtype\": \"F16\", \"shape\": [8, 3, 3, 3], "
                         "\"data_offsets\": [0, 432]},"
                         " \"conv0.bias\": {\"dtype\": \"F32\", \"shape\": [8], \"data_offsets\": [432, 464]},"
                         " \"q\": {\"dtype\": \"I8\", \"shape\": [2, 5], \"data_offsets\": [464, 474]},"
                         " \"u\": {\"dtype\": \"U8\", \"shape\": [3], \"data_offsets\": [474, 477]},"
                         " \"b\": {\"dtype\": \"I32\", \"shape\": [2], \"data_offsets\": [477, 485]}}  ");
    size_t data_size = 485;
    *size = 8 + n + data_size;
    unsigned char *file = malloc(*size);
    for (int i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(file + 8, header, n);
    for (size_t i = 0; i < data_size; i++) file[8 + n + i] = (unsigned char)test_rng_next(rng);
    free(header);
    return file;
}

static void flip_bytes(unsigned char *bytes, size_t size, test_rng *rng) {
    int flips = test_rng_int(rng, 1, 4);
    for (int i = 0; i < flips && size > 0; i++) {
        size_t at = (size_t)(test_rng_next(rng) % size);
        switch (test_rng_int(rng, 0, 3)) {
        case 0: bytes[at] ^= (unsigned char)(1u << test_rng_int(rng, 0, 7)); break;
        case 1: bytes[at] = (unsigned char)test_rng_next(rng); break;
        case 2: {
            /* Characters that matter to JSON are the interesting ones. */
            static const char special[] = "{}[]\",:\\0123456789-.eE unt";
            bytes[at] = (unsigned char)special[test_rng_int(rng, 0, (int)sizeof special - 2)];
            break;
        }
        default: bytes[at] = 0; break;
        }
    }
}

/* Checks what the loader accepted; touches every byte it exposes so ASan
 * sees any range that escapes the buffer. */
static void check_accepted(const mnet_safetensors *st, const unsigned char *bytes, size_t size) {
    unsigned sum = 0;
    for (size_t i = 0; i < mnet_st_tensor_count(st); i++) {
        const mnet_st_tensor *t = mnet_st_tensor_at(st, i);
        CHECK(t && t->name && mnet_st_find(st, t->name) == t);
        if (!t) continue;
        const unsigned char *data = t->data;
        CHECK(data >= bytes && data + t->nbytes <= bytes + size);
        CHECK(t->nbytes == (size_t)t->count * mnet_dtype_size(t->dtype));
        for (size_t k = 0; k < t->nbytes; k++) sum += data[k];
        if (t->dtype == MNET_DTYPE_F32 || t->dtype == MNET_DTYPE_F16) {
            float *values = malloc(sizeof(float) * (size_t)t->count + 1);
            CHECK(mnet_st_read_f32(t, values, NULL) == MNET_OK);
            free(values);
        }
    }
    (void)sum;
}

static void run_one(const unsigned char *source, size_t size, int *accepted, int *configs) {
    /* An exact-size copy, so reading one byte past the end is caught. */
    unsigned char *copy = malloc(size ? size : 1);
    if (size) memcpy(copy, source, size);
    mnet_safetensors *st = NULL;
    mnet_error err;
    err.message[0] = '\0';
    mnet_status status = mnet_st_open_memory(copy, size, &st, &err);
    if (status != MNET_OK) {
        CHECK(st == NULL);
        CHECK(err.message[0] != '\0' && err.status == status);
    } else {
        (*accepted)++;
        check_accepted(st, copy, size);
        mnet_model_config config;
        status = mnet_model_config_parse(st, &config, &err);
        if (status == MNET_OK) {
            (*configs)++;
            CHECK(config.input_h >= 1 && config.input_h <= MNET_MAX_INPUT_SIDE);
            CHECK(config.num_labels == 0 || config.num_labels == config.num_classes);
            for (int i = 0; i < config.num_labels; i++) CHECK(strlen(config.labels[i]) <= MNET_MAX_LABEL_BYTES);
            mnet_model_config_free(&config);
        } else {
            CHECK(err.message[0] != '\0');
        }
        mnet_st_close(st);
    }
    free(copy);
}

int main(void) {
    test_rng rng = {0x5EED5EEDull};
    size_t size;
    unsigned char *pristine = build_file(config_text, strlen(config_text), &size, &rng);

    /* The unmutated file must load, or the test proves nothing. */
    int accepted = 0, configs = 0;
    run_one(pristine, size, &accepted, &configs);
    CHECK(accepted == 1 && configs == 1);

    accepted = configs = 0;
    unsigned char *work = malloc(size);
    for (int iteration = 0; iteration < ITERATIONS; iteration++) {
        int kind = test_rng_int(&rng, 0, 9);
        if (kind <= 4) {
            memcpy(work, pristine, size);
            flip_bytes(work, size, &rng);
            run_one(work, size, &accepted, &configs);
        } else if (kind == 5) {
            run_one(pristine, (size_t)(test_rng_next(&rng) % size), &accepted, &configs);
        } else if (kind == 6) {
            memcpy(work, pristine, size);
            uint64_t length;
            switch (test_rng_int(&rng, 0, 2)) {
            case 0: length = test_rng_next(&rng); break;
            case 1: length = test_rng_next(&rng) % (size + 16); break;
            default: {
                uint64_t original = 0;
                for (int i = 7; i >= 0; i--) original = original << 8 | pristine[i];
                length = original + (uint64_t)test_rng_int(&rng, -8, 8);
            }
            }
            for (int i = 0; i < 8; i++) work[i] = (unsigned char)(length >> (8 * i));
            run_one(work, size, &accepted, &configs);
        } else {
            /* Damage the config JSON itself, then wrap it in a well-formed
             * file so the damage reaches the config parser. */
            char config[sizeof config_text];
            size_t length = strlen(config_text);
            memcpy(config, config_text, length + 1);
            flip_bytes((unsigned char *)config, length, &rng);
            if (test_rng_int(&rng, 0, 3) == 0) length = (size_t)(test_rng_next(&rng) % length);
            /* A NUL ends the C string the loader will see; keep the text
             * consistent with that. */
            const char *nul = memchr(config, '\0', length);
            size_t actual = nul ? (size_t)(nul - config) : length;
            size_t rebuilt_size;
            unsigned char *rebuilt = build_file(config, actual, &rebuilt_size, &rng);
            run_one(rebuilt, rebuilt_size, &accepted, &configs);
            free(rebuilt);
        }
    }
    printf("%d mutations: %d files accepted, %d configs accepted\n", ITERATIONS, accepted, configs);
    free(work);
    free(pristine);
    TEST_MAIN_END();
}
