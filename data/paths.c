/* paths.c: the data directory, the default database and the share directory
 * (rules in paths.h). No file contents are read here; only names and stat(). */
#include "paths.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SDLM_DATADIR
#define SDLM_DATADIR "/usr/local/share/sdlm"
#endif

static const char *const share_markers[] = {"sdlm-default.safetensors", "corpus.txt", "tokenizer.model"};

static int fmt_path(char *out, size_t cap, Err *e, const char *fmt, const char *a, const char *b) {
    int n = snprintf(out, cap, fmt, a, b);
    if (n < 0 || (size_t)n >= cap) return err_set(e, "path too long: %s%s", a, b);
    return 0;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int paths_mkdir_p(const char *dir, mode_t mode, Err *e) {
    char buf[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0) return err_set(e, "cannot create a directory with an empty name");
    if (n >= sizeof buf) return err_set(e, "%s: path too long", dir);
    memcpy(buf, dir, n + 1);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
    /* Create each prefix in turn; EEXIST is fine if it is a directory. */
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != 0) continue;
        char c = *p;
        *p = 0;
        if (mkdir(buf, mode) != 0) {
            int err = errno;
            if (err != EEXIST || !is_dir(buf)) {
                if (err == EEXIST) return err_set(e, "%s: exists and is not a directory", buf);
                return err_set(e, "cannot create directory %s: %s", buf, strerror(err));
            }
        }
        *p = c;
        if (!c) break;
    }
    return 0;
}

static int home_dir(char *out, size_t cap, Err *e) {
    const char *home = getenv("HOME");
    if (!home || home[0] != '/') {
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) != 0 || !res || !pw.pw_dir ||
            pw.pw_dir[0] != '/')
            return err_set(e, "cannot find a home directory: set HOME or XDG_DATA_HOME to an absolute path");
        return fmt_path(out, cap, e, "%s%s", pw.pw_dir, "");
    }
    return fmt_path(out, cap, e, "%s%s", home, "");
}

int paths_data_dir(char *out, size_t cap, Err *e) {
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && xdg[0] == '/') {
        if (fmt_path(out, cap, e, "%s%s", xdg, "/sdlm")) return -1;
    } else {
        char home[PATH_MAX];
        if (home_dir(home, sizeof home, e)) return -1;
        if (fmt_path(out, cap, e, "%s%s", home, "/.local/share/sdlm")) return -1;
    }
    if (paths_mkdir_p(out, 0700, e)) return err_wrap(e, "data directory");
    return 0;
}

int paths_default_db(char *out, size_t cap, Err *e) {
    char dir[PATH_MAX];
    if (paths_data_dir(dir, sizeof dir, e)) return -1;
    return fmt_path(out, cap, e, "%s%s", dir, "/sdlm.db");
}

int paths_share_dir_for_exe(const char *exe, char *out, size_t cap, Err *e) {
    char dir[PATH_MAX], cand[PATH_MAX];
    const char *slash = exe ? strrchr(exe, '/') : NULL;
    if (slash && (size_t)(slash - exe) < sizeof dir) {
        size_t n = (size_t)(slash - exe);
        memcpy(dir, exe, n);
        dir[n] = 0; /* "" for "/sdlm": the candidates become "/share", "/../share/sdlm" */
        if (snprintf(cand, sizeof cand, "%s/share", dir) < (int)sizeof cand) {
            for (size_t i = 0; i < sizeof share_markers / sizeof *share_markers; i++) {
                char f[PATH_MAX];
                if (snprintf(f, sizeof f, "%s/%s", cand, share_markers[i]) < (int)sizeof f && is_file(f))
                    return fmt_path(out, cap, e, "%s%s", cand, "");
            }
        }
        if (snprintf(cand, sizeof cand, "%s/../share/sdlm", dir) < (int)sizeof cand && is_dir(cand)) {
            char clean[PATH_MAX]; /* without the "bin/.." */
            return fmt_path(out, cap, e, "%s%s", realpath(cand, clean) ? clean : cand, "");
        }
    }
    return fmt_path(out, cap, e, "%s%s", SDLM_DATADIR, "");
}

int paths_share_dir(char *out, size_t cap, Err *e) {
    const char *env = getenv("SDLM_SHARE");
    if (env && env[0]) return fmt_path(out, cap, e, "%s%s", env, "");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return paths_share_dir_for_exe(NULL, out, cap, e);
    exe[n] = 0;
    return paths_share_dir_for_exe(exe, out, cap, e);
}
