/* The CLI's JPEG/PNG decoder (tools/mnet/image_io.h) on images encoded here
 * with libpng/libjpeg from random pixels: every PNG colour type and depth
 * must come back exactly (16-bit within 1 of the rounded value, JPEG within
 * a stated error), and damaged, unknown or oversized files must give the
 * right status with a message instead of crashing or leaking. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <zlib.h>

#include "image_io.h"
#include "test_util.h"

/* ---- in-memory byte buffer ---------------------------------------------- */

typedef struct byte_buffer {
    unsigned char *data;
    size_t size, capacity;
} byte_buffer;

static void buffer_append(byte_buffer *b, const void *data, size_t size) {
    if (b->size + size > b->capacity) {
        size_t grown = b->capacity ? b->capacity * 2 : 4096;
        while (grown < b->size + size) grown *= 2;
        unsigned char *bigger = realloc(b->data, grown);
        if (!bigger) abort(); /* test helper: no way to go on */
        b->data = bigger;
        b->capacity = grown;
    }
    memcpy(b->data + b->size, data, size);
    b->size += size;
}

/* ---- PNG encoding ------------------------------------------------------- */

static void png_write_to_buffer(png_structp png, png_bytep data, png_size_t size) {
    buffer_append(png_get_io_ptr(png), data, size);
}
static void png_flush_nothing(png_structp png) { (void)png; }

typedef struct png_spec {
    int width, height, bit_depth, color_type, interlace;
    const png_color *palette;
    int palette_size;
    const unsigned char *alpha_of_palette; /* tRNS for palettes, may be NULL */
    int num_trans;
} png_spec;

/* rows: packed samples as libpng expects them for the spec (big-endian for
 * 16 bits, several pixels per byte below 8 bits). */
static int encode_png(const png_spec *spec, unsigned char **rows, byte_buffer *out) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) return 0;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return 0;
    }
    png_set_write_fn(png, out, png_write_to_buffer, png_flush_nothing);
    png_set_IHDR(png, info, (png_uint_32)spec->width, (png_uint_32)spec->height,
                 spec->bit_depth, spec->color_type,
                 spec->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (spec->palette) png_set_PLTE(png, info, spec->palette, spec->palette_size);
    if (spec->alpha_of_palette)
        png_set_tRNS(png, info, spec->alpha_of_palette, spec->num_trans, NULL);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 1;
}

/* ---- JPEG encoding ------------------------------------------------------ */

static int encode_jpeg(const unsigned char *pixels, int width, int height, int components,
                       J_COLOR_SPACE space, int quality, byte_buffer *out) {
    struct jpeg_compress_struct info;
    struct jpeg_error_mgr errors;
    unsigned char *memory = NULL;
    unsigned long memory_size = 0;
    info.err = jpeg_std_error(&errors);
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &memory, &memory_size);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = components;
    info.in_color_space = space;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)info.next_scanline * (size_t)width *
                                               (size_t)components);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    buffer_append(out, memory, memory_size);
    free(memory);
    return 1;
}

/* ---- helpers ------------------------------------------------------------ */

static unsigned char **row_pointers(unsigned char *data, int height, size_t stride) {
    unsigned char **rows = malloc(sizeof *rows * (size_t)height);
    for (int y = 0; y < height; y++) rows[y] = data + (size_t)y * stride;
    return rows;
}

static image_status decode(const byte_buffer *file, decoded_image *image, char *message) {
    message[0] = '\0';
    return image_decode(file->data, file->size, image, message, IMAGE_MESSAGE_SIZE);
}

/* Smooth random image (JPEG-friendly): a few random gradients. */
static void fill_smooth(test_rng *rng, unsigned char *pixels, int width, int height,
                        int components) {
    float base[4], dx[4], dy[4];
    for (int c = 0; c < components; c++) {
        base[c] = test_rng_float(rng, 40, 200);
        dx[c] = test_rng_float(rng, -40, 40) / (float)width;
        dy[c] = test_rng_float(rng, -40, 40) / (float)height;
    }
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < components; c++)
                pixels[((size_t)y * (size_t)width + (size_t)x) * (size_t)components +
                       (size_t)c] = (unsigned char)(base[c] + dx[c] * (float)x + dy[c] * (float)y);
}

/* ---- PNG tests ---------------------------------------------------------- */

/* 8-bit RGB, RGBA, gray, gray+alpha, interlaced or not: exact. */
static void test_png_8bit(test_rng *rng) {
    const int types[] = {PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA, PNG_COLOR_TYPE_GRAY,
                         PNG_COLOR_TYPE_GRAY_ALPHA};
    const int samples[] = {3, 4, 1, 2};
    for (int t = 0; t < 4; t++) {
        for (int interlace = 0; interlace < 2; interlace++) {
            int width = test_rng_int(rng, 1, 67), height = test_rng_int(rng, 1, 41);
            size_t stride = (size_t)width * (size_t)samples[t];
            unsigned char *source = malloc(stride * (size_t)height);
            for (size_t i = 0; i < stride * (size_t)height; i++)
                source[i] = (unsigned char)test_rng_next(rng);
            unsigned char **rows = row_pointers(source, height, stride);
            png_spec spec = {width, height, 8, types[t], interlace, NULL, 0, NULL, 0};
            byte_buffer file = {0};
            CHECK(encode_png(&spec, rows, &file));
            decoded_image image;
            char message[IMAGE_MESSAGE_SIZE];
            image_status status = decode(&file, &image, message);
            CHECK_MSG(status == IMAGE_OK, "type %d: %s", types[t], message);
            int has_alpha = (types[t] & PNG_COLOR_MASK_ALPHA) != 0;
            int gray = !(types[t] & PNG_COLOR_MASK_COLOR);
            if (status == IMAGE_OK) {
                CHECK(image.width == width && image.height == height);
                CHECK(image.channels == (has_alpha ? 4 : 3));
                int mismatches = 0;
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++) {
                        const unsigned char *in = source + (size_t)y * stride +
                                                  (size_t)x * (size_t)samples[t];
                        const unsigned char *got =
                            image.pixels + ((size_t)y * (size_t)width + (size_t)x) *
                                               (size_t)image.channels;
                        for (int c = 0; c < 3; c++) mismatches += got[c] != in[gray ? 0 : c];
                        if (has_alpha) mismatches += got[3] != in[samples[t] - 1];
                    }
                CHECK_MSG(mismatches == 0, "type %d interlace %d: %d samples differ", types[t],
                          interlace, mismatches);
            }
            decoded_image_free(&image);
            free(file.data);
            free(rows);
            free(source);
        }
    }
}

/* Gray at 1, 2 and 4 bits: levels spread evenly over 0..255. */
static void test_png_low_bit_gray(test_rng *rng) {
    const int depths[] = {1, 2, 4};
    for (int d = 0; d < 3; d++) {
        int depth = depths[d], levels = 1 << depth;
        int width = test_rng_int(rng, 1, 70), height = test_rng_int(rng, 1, 20);
        size_t stride = ((size_t)width * (size_t)depth + 7) / 8;
        int *values = malloc(sizeof *values * (size_t)width * (size_t)height);
        unsigned char *packed = calloc(stride * (size_t)height, 1);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) {
                int v = test_rng_int(rng, 0, levels - 1);
                values[y * width + x] = v;
                size_t bit = (size_t)x * (size_t)depth;
                packed[(size_t)y * stride + bit / 8] |=
                    (unsigned char)(v << (8 - depth - (int)(bit % 8)));
            }
        unsigned char **rows = row_pointers(packed, height, stride);
        png_spec spec = {width, height, depth, PNG_COLOR_TYPE_GRAY, 0, NULL, 0, NULL, 0};
        byte_buffer file = {0};
        CHECK(encode_png(&spec, rows, &file));
        decoded_image image;
        char message[IMAGE_MESSAGE_SIZE];
        image_status status = decode(&file, &image, message);
        CHECK_MSG(status == IMAGE_OK, "%d-bit gray: %s", depth, message);
        if (status == IMAGE_OK) {
            CHECK(image.channels == 3 && image.width == width && image.height == height);
            int mismatches = 0;
            for (int i = 0; i < width * height; i++) {
                int expected = values[i] * 255 / (levels - 1);
                for (int c = 0; c < 3; c++) mismatches += image.pixels[i * 3 + c] != expected;
            }
            CHECK_MSG(mismatches == 0, "%d-bit gray: %d samples differ", depth, mismatches);
        }
        decoded_image_free(&image);
        free(file.data);
        free(rows);
        free(packed);
        free(values);
    }
}

/* Palette images, with and without a transparency table. */
static void test_png_palette(test_rng *rng) {
    for (int with_alpha = 0; with_alpha < 2; with_alpha++) {
        png_color palette[256];
        unsigned char alpha[256];
        int entries = test_rng_int(rng, 2, 256);
        for (int i = 0; i < entries; i++) {
            palette[i].red = (png_byte)test_rng_next(rng);
            palette[i].green = (png_byte)test_rng_next(rng);
            palette[i].blue = (png_byte)test_rng_next(rng);
            alpha[i] = (unsigned char)test_rng_next(rng);
        }
        int num_trans = with_alpha ? test_rng_int(rng, 1, entries) : 0;
        int width = test_rng_int(rng, 1, 50), height = test_rng_int(rng, 1, 50);
        unsigned char *indices = malloc((size_t)width * (size_t)height);
        for (int i = 0; i < width * height; i++)
            indices[i] = (unsigned char)test_rng_int(rng, 0, entries - 1);
        unsigned char **rows = row_pointers(indices, height, (size_t)width);
        png_spec spec = {width, height, 8, PNG_COLOR_TYPE_PALETTE, 0, palette, entries,
                         with_alpha ? alpha : NULL, num_trans};
        byte_buffer file = {0};
        CHECK(encode_png(&spec, rows, &file));
        decoded_image image;
        char message[IMAGE_MESSAGE_SIZE];
        image_status status = decode(&file, &image, message);
        CHECK_MSG(status == IMAGE_OK, "palette: %s", message);
        if (status == IMAGE_OK) {
            CHECK(image.channels == (with_alpha ? 4 : 3));
            int mismatches = 0;
            for (int i = 0; i < width * height; i++) {
                const png_color *entry = &palette[indices[i]];
                const unsigned char *got = image.pixels + (size_t)i * (size_t)image.channels;
                mismatches += got[0] != entry->red || got[1] != entry->green ||
                              got[2] != entry->blue;
                if (with_alpha)
                    mismatches += got[3] != (indices[i] < num_trans ? alpha[indices[i]] : 255);
            }
            CHECK_MSG(mismatches == 0, "palette alpha=%d: %d pixels differ", with_alpha,
                      mismatches);
        }
        decoded_image_free(&image);
        free(file.data);
        free(rows);
        free(indices);
    }
}

/* 16 bits per sample become the nearest 8-bit value (within 1). */
static void test_png_16bit(test_rng *rng) {
    int width = test_rng_int(rng, 1, 40), height = test_rng_int(rng, 1, 40);
    size_t stride = (size_t)width * 6;
    unsigned char *source = malloc(stride * (size_t)height);
    for (size_t i = 0; i < stride * (size_t)height; i++)
        source[i] = (unsigned char)test_rng_next(rng);
    unsigned char **rows = row_pointers(source, height, stride);
    png_spec spec = {width, height, 16, PNG_COLOR_TYPE_RGB, 0, NULL, 0, NULL, 0};
    byte_buffer file = {0};
    CHECK(encode_png(&spec, rows, &file));
    decoded_image image;
    char message[IMAGE_MESSAGE_SIZE];
    image_status status = decode(&file, &image, message);
    CHECK_MSG(status == IMAGE_OK, "16-bit: %s", message);
    if (status == IMAGE_OK) {
        CHECK(image.channels == 3);
        int worst = 0;
        for (int i = 0; i < width * height * 3; i++) {
            unsigned value = (unsigned)source[2 * i] << 8 | source[2 * i + 1];
            int expected = (int)((value * 255u + 32767u) / 65535u);
            int error = abs((int)image.pixels[i] - expected);
            if (error > worst) worst = error;
        }
        CHECK_MSG(worst <= 1, "16-bit: off by %d", worst);
    }
    decoded_image_free(&image);
    free(file.data);
    free(rows);
    free(source);
}

/* ---- JPEG tests --------------------------------------------------------- */

static double mean_abs_error(const unsigned char *a, const unsigned char *b, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += abs((int)a[i] - (int)b[i]);
    return sum / (double)n;
}

static void test_jpeg_colour_and_gray(test_rng *rng) {
    int width = test_rng_int(rng, 8, 90), height = test_rng_int(rng, 8, 70);
    size_t count = (size_t)width * (size_t)height;
    unsigned char *rgb = malloc(count * 3), *gray = malloc(count);
    fill_smooth(rng, rgb, width, height, 3);
    fill_smooth(rng, gray, width, height, 1);

    byte_buffer file = {0};
    encode_jpeg(rgb, width, height, 3, JCS_RGB, 100, &file);
    decoded_image image;
    char message[IMAGE_MESSAGE_SIZE];
    image_status status = decode(&file, &image, message);
    CHECK_MSG(status == IMAGE_OK, "jpeg rgb: %s", message);
    if (status == IMAGE_OK) {
        CHECK(image.width == width && image.height == height && image.channels == 3);
        /* Quality 100 on smooth content: chroma subsampling and rounding only. */
        double error = mean_abs_error(image.pixels, rgb, count * 3);
        CHECK_MSG(error < 2.0, "jpeg rgb mean abs error %.3f", error);
    }
    decoded_image_free(&image);

    /* The truncated file must fail, not decode to a grey-padded picture. */
    byte_buffer cut = {0};
    buffer_append(&cut, file.data, file.size * 2 / 3);
    status = decode(&cut, &image, message);
    CHECK_MSG(status == IMAGE_ERR_CORRUPT, "truncated jpeg: status %d (%s)", status, message);
    CHECK(image.pixels == NULL);
    CHECK(strstr(message, "JPEG") != NULL);
    free(cut.data);
    free(file.data);

    file = (byte_buffer){0};
    encode_jpeg(gray, width, height, 1, JCS_GRAYSCALE, 100, &file);
    status = decode(&file, &image, message);
    CHECK_MSG(status == IMAGE_OK, "jpeg gray: %s", message);
    if (status == IMAGE_OK) {
        CHECK(image.channels == 3);
        int unequal = 0;
        double error = 0;
        for (size_t i = 0; i < count; i++) {
            const unsigned char *p = image.pixels + i * 3;
            unequal += p[0] != p[1] || p[1] != p[2];
            error += abs((int)p[0] - (int)gray[i]);
        }
        CHECK_MSG(unequal == 0, "gray jpeg: %d pixels with R, G, B not equal", unequal);
        CHECK_MSG(error / (double)count < 1.0, "gray jpeg mean abs error %.3f",
                  error / (double)count);
    }
    decoded_image_free(&image);
    free(file.data);
    free(rgb);
    free(gray);
}

/* libjpeg writes an Adobe marker for CMYK, so the samples are stored
 * inverted the Adobe way: RGB = stored ink value x stored K / 255. */
static void test_jpeg_cmyk(test_rng *rng) {
    int width = 16, height = 16;
    unsigned char cmyk[16 * 16 * 4];
    unsigned char ink[4];
    for (int c = 0; c < 4; c++) ink[c] = (unsigned char)test_rng_int(rng, 60, 255);
    for (int i = 0; i < width * height; i++) memcpy(cmyk + 4 * i, ink, 4);
    byte_buffer file = {0};
    encode_jpeg(cmyk, width, height, 4, JCS_CMYK, 100, &file);
    decoded_image image;
    char message[IMAGE_MESSAGE_SIZE];
    image_status status = decode(&file, &image, message);
    CHECK_MSG(status == IMAGE_OK, "cmyk jpeg: %s", message);
    if (status == IMAGE_OK) {
        CHECK(image.channels == 3);
        int worst = 0;
        for (int i = 0; i < width * height; i++)
            for (int c = 0; c < 3; c++) {
                int expected = (ink[c] * ink[3] + 127) / 255;
                int error = abs((int)image.pixels[3 * i + c] - expected);
                if (error > worst) worst = error;
            }
        CHECK_MSG(worst <= 3, "cmyk jpeg: off by %d", worst);
    }
    decoded_image_free(&image);
    free(file.data);
}

/* ---- failures ----------------------------------------------------------- */

static void test_damaged_and_unknown(test_rng *rng) {
    decoded_image image;
    char message[IMAGE_MESSAGE_SIZE];

    CHECK(image_decode((const unsigned char *)"", 0, &image, message, sizeof message) ==
          IMAGE_ERR_UNKNOWN);

    const char gif[] = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    CHECK(image_decode((const unsigned char *)gif, sizeof gif - 1, &image, message,
                       sizeof message) == IMAGE_ERR_UNKNOWN);
    CHECK_MSG(strstr(message, "GIF") != NULL, "message: %s", message);

    unsigned char noise[300];
    for (size_t i = 0; i < sizeof noise; i++) noise[i] = (unsigned char)test_rng_next(rng);
    noise[0] = 'x'; /* not a magic number by chance */
    CHECK(image_decode(noise, sizeof noise, &image, message, sizeof message) ==
          IMAGE_ERR_UNKNOWN);

    /* JPEG magic followed by garbage. */
    noise[0] = 0xff, noise[1] = 0xd8, noise[2] = 0xff;
    image_status status = image_decode(noise, sizeof noise, &image, message, sizeof message);
    CHECK_MSG(status == IMAGE_ERR_CORRUPT, "jpeg garbage: %d %s", status, message);
    CHECK(image.pixels == NULL);

    /* PNG: truncated inside IDAT, and a flipped bit inside IDAT (bad CRC). */
    int width = 33, height = 29;
    unsigned char *source = malloc((size_t)width * (size_t)height * 3);
    for (int i = 0; i < width * height * 3; i++) source[i] = (unsigned char)test_rng_next(rng);
    unsigned char **rows = row_pointers(source, height, (size_t)width * 3);
    png_spec spec = {width, height, 8, PNG_COLOR_TYPE_RGB, 0, NULL, 0, NULL, 0};
    byte_buffer file = {0};
    CHECK(encode_png(&spec, rows, &file));
    byte_buffer cut = {0};
    buffer_append(&cut, file.data, file.size / 2);
    status = decode(&cut, &image, message);
    CHECK_MSG(status == IMAGE_ERR_CORRUPT, "truncated png: %d %s", status, message);
    CHECK(image.pixels == NULL);
    file.data[file.size / 2] ^= 0x10;
    status = decode(&file, &image, message);
    CHECK_MSG(status == IMAGE_ERR_CORRUPT, "png with bad CRC: %d %s", status, message);

    /* PNG whose IHDR claims more pixels than the limit (the CRC is redone
     * so that only the size is wrong). */
    file.data[file.size / 2] ^= 0x10;
    unsigned char *ihdr = file.data + 16; /* signature, length, "IHDR" */
    ihdr[0] = 0, ihdr[1] = 0, ihdr[2] = 0x75, ihdr[3] = 0x30; /* width 30000 */
    ihdr[4] = 0, ihdr[5] = 0, ihdr[6] = 0x75, ihdr[7] = 0x30; /* height 30000 */
    unsigned long crc = crc32(0, file.data + 12, 17);
    for (int i = 0; i < 4; i++) file.data[29 + i] = (unsigned char)(crc >> (24 - 8 * i));
    status = decode(&file, &image, message);
    CHECK_MSG(status == IMAGE_ERR_LIMIT, "huge png: %d %s", status, message);
    free(cut.data);
    free(file.data);
    free(rows);
    free(source);

    /* JPEG whose frame header claims 30000 x 30000. */
    unsigned char small[8 * 8 * 3];
    fill_smooth(rng, small, 8, 8, 3);
    file = (byte_buffer){0};
    encode_jpeg(small, 8, 8, 3, JCS_RGB, 90, &file);
    int patched = 0;
    for (size_t i = 2; i + 8 < file.size && !patched; i++)
        if (file.data[i] == 0xff && file.data[i + 1] == 0xc0) {
            file.data[i + 5] = 0x75, file.data[i + 6] = 0x30;
            file.data[i + 7] = 0x75, file.data[i + 8] = 0x30;
            patched = 1;
        }
    CHECK(patched);
    status = decode(&file, &image, message);
    CHECK_MSG(status == IMAGE_ERR_LIMIT, "huge jpeg: %d %s", status, message);
    free(file.data);
}

static void test_files(void) {
    decoded_image image;
    char message[IMAGE_MESSAGE_SIZE];
    CHECK(image_load("/nonexistent/mnet-test.png", &image, message, sizeof message) ==
          IMAGE_ERR_IO);
    CHECK(strstr(message, "No such file") != NULL);
    CHECK(image_load("/", &image, message, sizeof message) == IMAGE_ERR_IO);

    /* A bundled sample image: its size is recorded in the COCO annotations. */
    const char *source_dir = getenv("MNET_SOURCE_DIR");
    if (!source_dir) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/images/banana.jpg", source_dir);
    image_status status = image_load(path, &image, message, sizeof message);
    CHECK_MSG(status == IMAGE_OK, "%s: %s", path, message);
    if (status == IMAGE_OK) CHECK(image.width == 640 && image.height == 480 && image.channels == 3);
    decoded_image_free(&image);
}

int main(void) {
    test_rng rng = {0x9e3779b97f4a7c15ull};
    for (int round = 0; round < 5; round++) {
        test_png_8bit(&rng);
        test_png_low_bit_gray(&rng);
        test_png_palette(&rng);
        test_png_16bit(&rng);
        test_jpeg_colour_and_gray(&rng);
        test_jpeg_cmyk(&rng);
    }
    test_damaged_and_unknown(&rng);
    test_files();
    TEST_MAIN_END();
}
