/* The sub-commands; each takes its own argv (argv[0] is the command name)
 * and returns the process exit code (cli_exit.h). */
#ifndef MNET_TOOLS_COMMANDS_H
#define MNET_TOOLS_COMMANDS_H

#include <stdio.h>

int cmd_classify(int argc, char **argv);
void classify_usage(FILE *out);

int cmd_info(int argc, char **argv);
void info_usage(FILE *out);

#endif
