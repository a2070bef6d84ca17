/* mnet: command-line front end of the library. Dispatches to a sub-command;
 * each lives in its own cmd_*.c file. */
#include <stdio.h>
#include <string.h>

#include "cli_exit.h"
#include "cli_report.h"
#include "commands.h"
#include "mnet.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: mnet COMMAND [OPTIONS] ...\n"
            "\n"
            "commands:\n"
            "  classify [-m MODEL] [-k K] [--json] [--threads N] IMAGE...\n"
            "                 top-K classes of JPEG/PNG images (or --raw frames)\n"
            "  detect [-m MODEL] [--threshold T] [--max N] [--json] [-o OUTDIR] IMAGE...\n"
            "                 objects with boxes (SSD models)\n"
            "  segment [-m MODEL] [--json] [-o OUTDIR] IMAGE...\n"
            "                 class of every pixel (DeepLab models)\n"
            "  bench [-m MODEL] [--threads N] [--runs N] [--json]\n"
            "                 load time, latency, throughput and memory of a model\n"
            "  info [--json] MODEL\n"
            "                 architecture, preprocessing, layers and taps of a model\n"
            "  help [COMMAND] this text, or the help of a command\n"
            "  version        the mnet version\n"
            "\n"
            "exit codes: 0 ok, 2 usage error, 3 unreadable image, 4 invalid model,\n"
            "5 internal failure\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "classify") == 0) return cmd_classify(argc - 1, argv + 1);
    if (strcmp(command, "info") == 0) return cmd_info(argc - 1, argv + 1);
    if (strcmp(command, "detect") == 0) return cmd_detect(argc - 1, argv + 1);
    if (strcmp(command, "segment") == 0) return cmd_segment(argc - 1, argv + 1);
    if (strcmp(command, "bench") == 0) return cmd_bench(argc - 1, argv + 1);
    if (strcmp(command, "version") == 0 || strcmp(command, "--version") == 0) {
        printf("mnet %d.%d.%d\n", MNET_VERSION_MAJOR, MNET_VERSION_MINOR,
               MNET_VERSION_PATCH);
        return CLI_EXIT_OK;
    }
    if (strcmp(command, "help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "--help") == 0) {
        const char *topic = argc > 2 ? argv[2] : "";
        if (strcmp(topic, "classify") == 0)
            classify_usage(stdout);
        else if (strcmp(topic, "info") == 0)
            info_usage(stdout);
        else if (strcmp(topic, "detect") == 0)
            detect_usage(stdout);
        else if (strcmp(topic, "segment") == 0)
            segment_usage(stdout);
        else if (strcmp(topic, "bench") == 0)
            bench_usage(stdout);
        else
            usage(stdout);
        return CLI_EXIT_OK;
    }
    cli_error("unknown command '%s' (see mnet help)", command);
    return CLI_EXIT_USAGE;
}
