/* The -o OUTDIR of detect and segment: the folder, and one distinct file
 * stem per input so that inputs of the same name (a/x.jpg, b/x.jpg, or one
 * file given twice) never overwrite each other's outputs. */
#ifndef MNET_TOOLS_CLI_OUTPUT_H
#define MNET_TOOLS_CLI_OUTPUT_H

#include <stddef.h>

/* Creates dir and its missing parents. Returns CLI_EXIT_OK, or the exit code
 * after printing one line. */
int cli_output_prepare_dir(const char *dir);

typedef struct cli_output_names {
    char **stems;
    int count, capacity;
} cli_output_names;

void cli_output_names_init(cli_output_names *names);
void cli_output_names_free(cli_output_names *names);

/* The stem for input_path: its file name without the extension, with
 * "-2", "-3", ... appended when an earlier input of this run had the same
 * stem. Returns 1, or 0 when out of memory. */
int cli_output_stem(cli_output_names *names, const char *input_path, char *stem,
                    size_t stem_size);

/* "<dir>/<stem><suffix>"; 0 when it does not fit. */
int cli_output_path(const char *dir, const char *stem, const char *suffix, char *path,
                    size_t path_size);

/* The output files of one input: for each of the count suffixes,
 * "<dir>/<stem of input_path><suffix>" into paths[i] (path_size bytes each).
 * Returns CLI_EXIT_OK, or the exit code after printing one line. */
int cli_output_files(cli_output_names *names, const char *dir, const char *input_path,
                     int count, const char *const *suffixes, char *const *paths,
                     size_t path_size);

/* Writes rgb (width x height, 3 bytes per pixel) as a PNG at path and frees
 * it. Returns CLI_EXIT_OK, or the exit code after printing one line. */
int cli_output_write_rgb(const char *path, unsigned char *rgb, int width, int height);

#endif
