/* Replays every input the fuzzers ever tripped on (tests/fuzz/crashes/,
 * files named <target>-crash-*, -leak-*, -timeout-*, -oom-* by
 * scripts/fuzz.sh) and the seed corpora, through the same target code, in
 * a normal build. Each input runs in a forked child with a time limit, so
 * one regression does not hide the others; the ASan pass of scripts/test.sh
 * turns memory errors into failures too. Inputs of fuzz_image_decode need
 * the CLI's decoders and are replayed by scripts/fuzz.sh, not here. */
#define _DEFAULT_SOURCE

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

/* The fuzz targets, each under its own name. */
#define LLVMFuzzerTestOneInput replay_model_load
#include "../fuzz/fuzz_model_load.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput replay_safetensors
#include "../fuzz/fuzz_safetensors.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput replay_image_view
#include "../fuzz/fuzz_image_view.c"
#undef LLVMFuzzerTestOneInput

typedef int (*fuzz_entry)(const uint8_t *data, size_t size);

static fuzz_entry entry_for(const char *target) {
    if (strcmp(target, "model_load") == 0) return replay_model_load;
    if (strcmp(target, "safetensors") == 0) return replay_safetensors;
    if (strcmp(target, "image_view") == 0) return replay_image_view;
    return NULL;
}

static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, used = 0;
    unsigned char *data = malloc(cap);
    size_t got;
    while (data && (got = fread(data + used, 1, cap - used, f)) > 0) {
        used += got;
        if (used == cap) {
            unsigned char *bigger = realloc(data, cap *= 2);
            if (!bigger) free(data);
            data = bigger;
        }
    }
    fclose(f);
    *size = used;
    return data;
}

/* Runs one input in a child; returns a description of the failure or NULL. */
static const char *replay(fuzz_entry entry, const char *path, char *why, size_t why_size) {
    size_t size = 0;
    unsigned char *data = read_file(path, &size);
    if (!data) return "cannot read";
    /* An exact-size copy, so that a read past the end is an ASan error. */
    unsigned char *exact = malloc(size ? size : 1);
    memcpy(exact, data, size);
    free(data);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(120);
        entry(exact, size);
        free(exact); /* for valgrind's leak check at the child's exit */
        _exit(0);
    }
    free(exact);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return "waitpid failed";
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return NULL;
    if (WIFSIGNALED(status))
        snprintf(why, why_size, "%s", WTERMSIG(status) == SIGALRM ? "timed out (120 s)"
                                                                  : strsignal(WTERMSIG(status)));
    else
        snprintf(why, why_size, "exit %d", WEXITSTATUS(status));
    return why;
}

/* Replays the files of dir; target NULL = from each file's name prefix. */
static void replay_dir(const char *dir, const char *target, int *replayed, int *skipped) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char name[256];
        const char *t = target;
        if (!t) {
            snprintf(name, sizeof name, "%s", e->d_name);
            char *dash = strchr(name, '-');
            if (!dash) continue;
            *dash = '\0';
            t = name;
        }
        fuzz_entry entry = entry_for(t);
        if (!entry) {
            (*skipped)++;
            continue;
        }
        char path[1024], why[128];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        const char *failure = replay(entry, path, why, sizeof why);
        CHECK_MSG(failure == NULL, "%s: %s", path, failure);
        (*replayed)++;
    }
    closedir(d);
}

int main(void) {
    const char *source = getenv("MNET_SOURCE_DIR");
    char dir[1024];
    int replayed = 0, skipped = 0;
    snprintf(dir, sizeof dir, "%s/tests/fuzz/crashes", source ? source : ".");
    replay_dir(dir, NULL, &replayed, &skipped);
    printf("%d fuzzer findings replayed, %d left to scripts/fuzz.sh (image decoders)\n",
           replayed, skipped);
    int seeds = 0;
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/model_load", source ? source : ".");
    replay_dir(dir, "model_load", &seeds, &skipped);
    replay_dir(dir, "safetensors", &seeds, &skipped);
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/image_view", source ? source : ".");
    replay_dir(dir, "image_view", &seeds, &skipped);
    printf("%d seed inputs replayed\n", seeds);
    CHECK_MSG(seeds > 0, "no seed corpus under %s/tests/fuzz/corpus", source ? source : ".");
    TEST_MAIN_END();
}
