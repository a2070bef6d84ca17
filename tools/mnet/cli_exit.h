/* Exit codes of the mnet CLI; docs/CLI.md documents them for users. */
#ifndef MNET_TOOLS_CLI_EXIT_H
#define MNET_TOOLS_CLI_EXIT_H

enum cli_exit_code {
    CLI_EXIT_OK = 0,
    CLI_EXIT_USAGE = 2,     /* bad command line */
    CLI_EXIT_BAD_IMAGE = 3, /* an input image could not be read or decoded */
    CLI_EXIT_BAD_MODEL = 4, /* model file missing, unreadable or invalid */
    CLI_EXIT_INTERNAL = 5,  /* out of memory, library failure, write error */
    CLI_EXIT_PRECISION = 6  /* --precision int8 on a model that cannot run it */
};

#endif
