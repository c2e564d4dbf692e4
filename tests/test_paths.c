/* test_paths.c: the data directory (XDG rules, mode 0700, parents), the
 * default database path and the share-directory search. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "paths.h"

static char dir[] = "/tmp/sdlm-test-paths-XXXXXX";

static int mode_of(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode) ? (int)(st.st_mode & 07777) : -1;
}

static void touch(const char *p) {
    FILE *f = fopen(p, "w");
    if (f) fclose(f);
}

int main(void) {
    char out[PATH_MAX], want[PATH_MAX], p[PATH_MAX];
    Err e;
    if (!mkdtemp(dir)) return 2;
    umask(022);

    /* Absolute XDG_DATA_HOME, missing parents: all created 0700. */
    snprintf(p, sizeof p, "%s/xdg/deep", dir);
    setenv("XDG_DATA_HOME", p, 1);
    snprintf(want, sizeof want, "%s/xdg/deep/sdlm", dir);
    int rc = paths_data_dir(out, sizeof out, &e);
    check_ok(rc == 0 && !strcmp(out, want), "XDG_DATA_HOME absolute -> %s", rc ? e.msg : out);
    check_ok(mode_of(want) == 0700 && mode_of(p) == 0700, "data dir and its new parents are 0700 (%o, %o)",
             mode_of(want), mode_of(p));
    rc = paths_data_dir(out, sizeof out, &e);
    check_ok(rc == 0, "existing data dir is fine %s", rc ? e.msg : "");
    rc = paths_default_db(out, sizeof out, &e);
    snprintf(want, sizeof want, "%s/xdg/deep/sdlm/sdlm.db", dir);
    check_ok(rc == 0 && !strcmp(out, want), "default db -> %s", out);

    /* Relative or empty XDG_DATA_HOME is ignored: HOME/.local/share/sdlm. */
    setenv("HOME", dir, 1);
    snprintf(want, sizeof want, "%s/.local/share/sdlm", dir);
    const char *bad[] = {"relative/data", ""};
    for (int i = 0; i < 2; i++) {
        setenv("XDG_DATA_HOME", bad[i], 1);
        rc = paths_data_dir(out, sizeof out, &e);
        check_ok(rc == 0 && !strcmp(out, want), "XDG_DATA_HOME='%s' ignored -> %s", bad[i], rc ? e.msg : out);
    }
    check_ok(access("relative", F_OK) != 0, "no relative directory was created");
    unsetenv("XDG_DATA_HOME");
    rc = paths_data_dir(out, sizeof out, &e);
    check_ok(rc == 0 && !strcmp(out, want) && mode_of(want) == 0700, "unset XDG_DATA_HOME -> %s (mode %o)", out,
             mode_of(want));

    /* A file where the directory should be. */
    snprintf(p, sizeof p, "%s/file", dir);
    touch(p);
    snprintf(want, sizeof want, "%s/file", dir);
    setenv("XDG_DATA_HOME", want, 1);
    rc = paths_data_dir(out, sizeof out, &e);
    check_ok(rc == -1 && strstr(e.msg, "not a directory") && strstr(e.msg, "data directory"), "a file in the way: %s",
             e.msg);
    unsetenv("XDG_DATA_HOME");

    /* Share dir: $SDLM_SHARE first. */
    setenv("SDLM_SHARE", "/opt/sdlm-share", 1);
    rc = paths_share_dir(out, sizeof out, &e);
    check_ok(rc == 0 && !strcmp(out, "/opt/sdlm-share"), "SDLM_SHARE wins -> %s", out);
    unsetenv("SDLM_SHARE");

    /* <exe dir>/share only with a marker file in it. */
    char exe[PATH_MAX];
    snprintf(p, sizeof p, "%s/src/share", dir);
    paths_mkdir_p(p, 0755, &e);
    snprintf(exe, sizeof exe, "%s/src/sdlm", dir);
    rc = paths_share_dir_for_exe(exe, out, sizeof out, &e);
    check_ok(rc == 0 && !strcmp(out, SDLM_DATADIR), "empty ./share is not it -> %s", out);
    snprintf(p, sizeof p, "%s/src/share/corpus.txt", dir);
    touch(p);
    snprintf(want, sizeof want, "%s/src/share", dir);
    rc = paths_share_dir_for_exe(exe, out, sizeof out, &e);
    check_ok(rc == 0 && !strcmp(out, want), "source tree: share/ beside the binary -> %s", out);

    /* Installed: <exe dir>/../share/sdlm. */
    snprintf(p, sizeof p, "%s/prefix/bin", dir);
    paths_mkdir_p(p, 0755, &e);
    snprintf(p, sizeof p, "%s/prefix/share/sdlm", dir);
    paths_mkdir_p(p, 0755, &e);
    snprintf(exe, sizeof exe, "%s/prefix/bin/sdlm", dir);
    snprintf(want, sizeof want, "%s/prefix/share/sdlm", dir);
    rc = paths_share_dir_for_exe(exe, out, sizeof out, &e);
    check_ok(rc == 0 && !strcmp(out, want), "installed: bin/../share/sdlm, cleaned -> %s", out);

    /* Nothing beside the binary: the compile-time directory. */
    snprintf(exe, sizeof exe, "%s/nowhere/sdlm", dir);
    rc = paths_share_dir_for_exe(exe, out, sizeof out, &e);
    check_ok(rc == 0 && !strcmp(out, SDLM_DATADIR), "fallback -> SDLM_DATADIR %s", out);
    rc = paths_share_dir(out, sizeof out, &e);
    check_ok(rc == 0 && out[0] == '/', "paths_share_dir for this test binary -> %s", out);

    /* Too small a buffer is an error, not a truncated path. */
    char tiny[8];
    rc = paths_default_db(tiny, sizeof tiny, &e);
    check_ok(rc == -1 && strstr(e.msg, "too long"), "small buffer: %s", e.msg);

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) printf("# could not remove %s\n", dir);
    return check_done();
}
