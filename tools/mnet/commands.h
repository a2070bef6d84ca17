/* The sub-commands; each takes its own argv (argv[0] is the command name)
 * and returns the process exit code (cli_exit.h). */
#ifndef MNET_TOOLS_COMMANDS_H
#define MNET_TOOLS_COMMANDS_H

#include <stdio.h>

int cmd_classify(int argc, char **argv);
void classify_usage(FILE *out);

int cmd_info(int argc, char **argv);
void info_usage(FILE *out);

int cmd_detect(int argc, char **argv);
void detect_usage(FILE *out);

int cmd_segment(int argc, char **argv);
void segment_usage(FILE *out);

int cmd_bench(int argc, char **argv);
void bench_usage(FILE *out);

#endif
