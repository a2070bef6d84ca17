/* Runs a check in a forked child under an address-space limit and an alarm,
 * so that a test can prove an operation allocates little, cannot hang, and
 * cannot take the test process down with it. */
#ifndef MNET_TESTS_LIMITS_CHILD_H
#define MNET_TESTS_LIMITS_CHILD_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Sanitizers reserve terabytes of shadow memory, so an address-space limit
 * cannot be applied under them; the checks then run without it. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LIMITS_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define LIMITS_UNDER_SANITIZER 1
#endif
#endif
#ifndef LIMITS_UNDER_SANITIZER
#define LIMITS_UNDER_SANITIZER 0
#endif

/* Exit codes of the child beyond its own 0..99. */
#define CHILD_KILLED_BY_ALARM 200
#define CHILD_KILLED_OTHERWISE 201

typedef int (*child_check)(void *arg);

/* Runs check(arg) in a child limited to address_space_bytes (0 = no
 * limit) and seconds of wall time; returns its exit code. */
static int run_in_child(child_check check, void *arg, size_t address_space_bytes, int seconds) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return CHILD_KILLED_OTHERWISE;
    if (pid == 0) {
        if (address_space_bytes && !LIMITS_UNDER_SANITIZER) {
            struct rlimit limit = {address_space_bytes, address_space_bytes};
            setrlimit(RLIMIT_AS, &limit);
        }
        alarm((unsigned)seconds);
        int rc = check(arg);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return CHILD_KILLED_OTHERWISE;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) return CHILD_KILLED_BY_ALARM;
    return CHILD_KILLED_OTHERWISE;
}

#endif
