/* fileguard.c: opening and replacing the user's files without surprises
 * (what each function promises: fileguard.h). */
#include "fileguard.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return S_ISREG(m) ? NULL : "not a regular file";
}

int fileguard_is_regular(const char *path) {
    struct stat st;
    return path && !stat(path, &st) && S_ISREG(st.st_mode);
}

const char *fileguard_odd_kind(const char *path) {
    struct stat st;
    return stat(path, &st) ? NULL : kind_of(st.st_mode);
}

int fileguard_open_regular(const char *path, const char *what, Err *e) {
    /* O_NONBLOCK: opening a FIFO with no writer would wait forever, deaf to signals */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return err_set(e, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st)) {
        int err = errno;
        close(fd);
        return err_set(e, "%s: cannot stat: %s", path, strerror(err));
    }
    const char *kind = kind_of(st.st_mode);
    if (kind) {
        close(fd);
        return err_set(e, "%s: is %s, not a regular file: give %s", path, kind, what);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

int fileguard_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (!a || !b || stat(a, &sa) || stat(b, &sb)) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Follows one link: target is relative to the link's folder. */
static int follow(const char *link, char *out, size_t cap, Err *e) {
    char target[PATH_MAX];
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) return err_set(e, "%s: cannot read the link: %s", link, strerror(errno));
    target[n] = 0;
    const char *slash = strrchr(link, '/');
    int dir = target[0] == '/' || !slash ? 0 : (int)(slash - link + 1);
    if ((size_t)snprintf(out, cap, "%.*s%s", dir, link, target) >= cap)
        return err_set(e, "%s: the link's target path is too long", link);
    return 0;
}

int fileguard_target(const char *path, char *out, size_t cap, Err *e) {
    if ((size_t)snprintf(out, cap, "%s", path) >= cap) return err_set(e, "%s: path too long", path);
    for (int hops = 0; hops < 40; hops++) {
        struct stat st;
        if (lstat(out, &st) || !S_ISLNK(st.st_mode)) return 0;
        char next[PATH_MAX];
        if (follow(out, next, sizeof next, e)) return -1;
        if ((size_t)snprintf(out, cap, "%s", next) >= cap) return err_set(e, "%s: path too long", path);
    }
    return err_set(e, "%s: too many levels of symbolic links", path);
}

int fileguard_mode(const char *path) {
    struct stat st;
    return stat(path, &st) ? -1 : (int)(st.st_mode & 07777);
}
