/* Output folder creation and collision-free output names. */
#define _POSIX_C_SOURCE 200809L

#include "cli_output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_exit.h"
#include "cli_report.h"
#include "image_write.h"

static int make_one_dir(const char *path) {
    if (mkdir(path, 0777) == 0) return 1;
    struct stat info;
    return errno == EEXIST && stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

int cli_output_prepare_dir(const char *dir) {
    size_t length = strlen(dir);
    char *path = malloc(length + 1);
    if (!path) {
        cli_error("out of memory");
        return CLI_EXIT_INTERNAL;
    }
    memcpy(path, dir, length + 1);
    int code = CLI_EXIT_OK;
    for (size_t i = 1; i <= length && code == CLI_EXIT_OK; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char saved = path[i];
        path[i] = '\0';
        if (!make_one_dir(path)) {
            /* results that cannot be written: as for a full disk */
            if (errno == EEXIST)
                cli_error("%s: cannot create the output folder: %s is not a folder", dir, path);
            else
                cli_error("%s: cannot create the output folder: %s", dir, strerror(errno));
            code = CLI_EXIT_INTERNAL;
        }
        path[i] = saved;
    }
    free(path);
    return code;
}

void cli_output_names_init(cli_output_names *names) { memset(names, 0, sizeof *names); }

void cli_output_names_free(cli_output_names *names) {
    for (int i = 0; i < names->count; i++) free(names->stems[i]);
    free(names->stems);
    memset(names, 0, sizeof *names);
}

static int stem_taken(const cli_output_names *names, const char *stem) {
    for (int i = 0; i < names->count; i++)
        if (strcmp(names->stems[i], stem) == 0) return 1;
    return 0;
}

int cli_output_stem(cli_output_names *names, const char *input_path, char *stem,
                    size_t stem_size) {
    const char *base = strrchr(input_path, '/');
    base = base ? base + 1 : input_path;
    const char *dot = strrchr(base, '.');
    size_t length = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (length == 0) {
        base = "image";
        length = 5;
    }
    /* leave room for "-NNNN" and the suffixes */
    if (length > 200) length = 200;
    char first[256];
    snprintf(first, sizeof first, "%.*s", (int)length, base);
    snprintf(stem, stem_size, "%s", first);
    for (int n = 2; stem_taken(names, stem); n++) snprintf(stem, stem_size, "%s-%d", first, n);
    if (names->count == names->capacity) {
        int capacity = names->capacity ? names->capacity * 2 : 16;
        char **grown = realloc(names->stems, (size_t)capacity * sizeof *grown);
        if (!grown) return 0;
        names->stems = grown;
        names->capacity = capacity;
    }
    size_t size = strlen(stem) + 1;
    char *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, stem, size);
    names->stems[names->count++] = copy;
    return 1;
}

int cli_output_path(const char *dir, const char *stem, const char *suffix, char *path,
                    size_t path_size) {
    size_t dir_length = strlen(dir);
    const char *separator = dir_length && dir[dir_length - 1] == '/' ? "" : "/";
    int n = snprintf(path, path_size, "%s%s%s%s", dir, separator, stem, suffix);
    return n >= 0 && (size_t)n < path_size;
}

int cli_output_files(cli_output_names *names, const char *dir, const char *input_path,
                     int count, const char *const *suffixes, char *const *paths,
                     size_t path_size) {
    char stem[512];
    if (!cli_output_stem(names, input_path, stem, sizeof stem)) {
        cli_error("out of memory");
        return CLI_EXIT_INTERNAL;
    }
    for (int i = 0; i < count; i++)
        if (!cli_output_path(dir, stem, suffixes[i], paths[i], path_size)) {
            cli_error("%s: output path too long", input_path);
            return CLI_EXIT_INTERNAL;
        }
    return CLI_EXIT_OK;
}

int cli_output_write_rgb(const char *path, unsigned char *rgb, int width, int height) {
    char reason[512];
    int ok = png_write_rgb(path, rgb, width, height, reason, sizeof reason);
    free(rgb);
    if (!ok) {
        cli_error("%s", reason);
        return CLI_EXIT_INTERNAL;
    }
    return CLI_EXIT_OK;
}
