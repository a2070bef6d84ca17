/* Locating the bundled models through /proc/self/exe. */
#define _POSIX_C_SOURCE 200809L

#include "model_path.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

static int is_regular_file(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

/* Directory of the running executable, symlinks resolved by the kernel. */
static int executable_directory(char *dir, size_t dir_size) {
    char exe[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (length <= 0 || (size_t)length >= sizeof exe - 1) return 0;
    exe[length] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return 0;
    if (slash == exe) slash++; /* executable in "/" */
    *slash = '\0';
    return snprintf(dir, dir_size, "%s", exe) < (int)dir_size;
}

int model_default_path(const char *name, char *path, size_t path_size) {
    static const char *const relative_dirs[] = {"../models", "../share/mnet/models"};
    char dir[PATH_MAX];
    if (path_size) path[0] = '\0';
    if (!executable_directory(dir, sizeof dir)) return -1;
    char first[PATH_MAX] = "";
    for (size_t i = 0; i < sizeof relative_dirs / sizeof relative_dirs[0]; i++) {
        char candidate[PATH_MAX];
        int n = snprintf(candidate, sizeof candidate, "%s/%s/%s", dir,
                         relative_dirs[i], name);
        if (n < 0 || (size_t)n >= sizeof candidate) continue;
        if (!first[0]) memcpy(first, candidate, (size_t)n + 1);
        if (is_regular_file(candidate)) {
            snprintf(path, path_size, "%s", candidate);
            return 1;
        }
    }
    snprintf(path, path_size, "%s", first);
    return 0;
}
