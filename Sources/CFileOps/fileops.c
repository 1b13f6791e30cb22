#define _GNU_SOURCE
#include "CFileOps.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int csgis_open_unnamed(const char *dir) {
#ifdef O_TMPFILE
    return open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
#else
    (void)dir;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int csgis_link_unnamed(int fd, const char *path) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

static char cleanup_path[4096];
static volatile sig_atomic_t cleanup_set;

static void on_signal(int sig) {
    if (cleanup_set) unlink(cleanup_path);  // async-signal-safe
    signal(sig, SIG_DFL);
    raise(sig);
}

void csgis_cleanup_on_signal(const char *path) {
    static int installed;
    cleanup_set = 0;
    if (path && strlen(path) < sizeof cleanup_path) {
        strcpy(cleanup_path, path);
        cleanup_set = 1;
    }
    if (!installed) {
        installed = 1;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGHUP, on_signal);
    }
}
