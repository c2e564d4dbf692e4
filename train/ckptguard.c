/* ckptguard.c: the checks before a training run, and its checkpoint lock
 * (what each promises: ckptguard.h). */
#include "ckptguard.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "fileguard.h"
#include "spm.h"

/* The folder of path ("." when it has none). */
static void folder_of(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, cap, ".");
    else snprintf(out, cap, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/* Whether a and b would be one file once written: the same file now, or the
 * same name in the same folder. */
static int same_destination(const char *a, const char *b) {
    if (fileguard_same_file(a, b)) return 1;
    char ta[PATH_MAX], tb[PATH_MAX], da[PATH_MAX], db[PATH_MAX];
    Err ignored;
    if (fileguard_target(a, ta, sizeof ta, &ignored) || fileguard_target(b, tb, sizeof tb, &ignored)) return 0;
    const char *na = strrchr(ta, '/'), *nb = strrchr(tb, '/');
    folder_of(ta, da, sizeof da), folder_of(tb, db, sizeof db);
    return !strcmp(na ? na + 1 : ta, nb ? nb + 1 : tb) && fileguard_same_file(da, db);
}

static int check_kinds(const CkptPaths *p, Err *e) {
    const char *names[] = {p->ckpt, p->export_path};
    const char *flags[] = {"-ckpt", "--export"};
    for (int i = 0; i < 2; i++) {
        const char *kind = names[i] ? fileguard_odd_kind(names[i]) : NULL;
        if (kind) return err_set(e, "%s %s: is %s, not a file a checkpoint can replace", flags[i], names[i], kind);
    }
    const char *inputs[] = {p->corpus, p->spm};
    for (int i = 0; i < 2; i++) {
        const char *kind = inputs[i] ? fileguard_odd_kind(inputs[i]) : NULL;
        if (kind) return err_set(e, "%s: is %s, not a regular file: give %s", inputs[i], kind,
                                 i ? "a SentencePiece .model file" : "a text file with one example per line");
    }
    return 0;
}

static int check_overlaps(const CkptPaths *p, Err *e) {
    if (p->export_path && same_destination(p->export_path, p->ckpt))
        return err_set(e, "--export %s is the checkpoint itself: the export (F16, no optimiser state) would replace "
                          "the training checkpoint; export to another file", p->export_path);
    const char *inputs[] = {p->corpus, p->spm};
    for (int i = 0; i < 2; i++)
        if (inputs[i] && (same_destination(inputs[i], p->ckpt) ||
                          (p->export_path && same_destination(inputs[i], p->export_path))))
            return err_set(e, "%s is also where the checkpoint would be written: saving would replace your %s",
                           inputs[i], i ? "tokenizer" : "corpus");
    return 0;
}

int ckptguard_preflight(const CkptPaths *p, Err *e) {
    if (check_kinds(p, e) || check_overlaps(p, e)) return -1;
    int mode = fileguard_mode(p->ckpt);
    if (mode >= 0 && !(mode & 0222))
        return err_set(e, "%s is read-only (mode %03o): sdlm will not replace it; chmod u+w it to train on, or give "
                          "another -ckpt", p->ckpt, mode & 0777);
    return ckptguard_probe_space(p->ckpt, 0, e);
}

int ckptguard_probe_space(const char *ckpt, uint64_t bytes, Err *e) {
    char target[PATH_MAX], probe[PATH_MAX + 32], dir[PATH_MAX];
    if (fileguard_target(ckpt, target, sizeof target, e)) return -1;
    folder_of(target, dir, sizeof dir);
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return err_set(e, "cannot save %s: the folder %s does not exist (create it first)", ckpt, dir);
    snprintf(probe, sizeof probe, "%s.tmp.%ld", target, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return err_set(e, "cannot save %s: cannot create a file in %s: %s", ckpt, dir, strerror(errno));
    int rc = bytes ? posix_fallocate(fd, 0, (off_t)bytes) : 0;
    if (rc == EOPNOTSUPP || rc == EINVAL) rc = 0; /* a file system that cannot reserve: the first save will tell */
    close(fd);
    unlink(probe);
    if (rc)
        return err_set(e, "cannot save %s: a checkpoint needs %.1f MB in %s: %s", ckpt, bytes / 1048576.0, dir,
                       strerror(rc));
    return 0;
}

/* The pid written in a lock file, or 0. */
static long lock_owner(int fd) {
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0); /* fd is read-only: fine */
    return n > 0 ? strtol(buf, NULL, 10) : 0;
}

/* Best effort: the pid is only for the second run's message. */
static void write_pid(const char *path) {
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return;
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    ssize_t rc = write(fd, pid, (size_t)n);
    (void)rc;
    close(fd);
}

int ckptguard_lock(CkptLock *l, const char *ckpt, Err *e) {
    char target[PATH_MAX];
    l->fd = -1;
    if (fileguard_target(ckpt, target, sizeof target, e)) return -1;
    /* hidden: a lock left by a killed run is harmless (flock died with it) and out of sight */
    const char *slash = strrchr(target, '/');
    int dir = slash ? (int)(slash - target + 1) : 0;
    if ((size_t)snprintf(l->path, sizeof l->path, "%.*s.%s.lock", dir, target, target + dir) >= sizeof l->path)
        return err_set(e, "cannot lock %s: path too long", ckpt);
    for (int tries = 0; tries < 5; tries++) {
        /* read-only: a file open for writing would keep its folder from being remounted read-only */
        int fd = open(l->path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return err_set(e, "cannot lock %s: %s: %s", ckpt, l->path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB)) {
            long pid = lock_owner(fd);
            close(fd);
            return err_set(e, "%s is being trained by another sdlm (pid %ld, lock %s): wait for it to end, or "
                              "stop it", ckpt, pid, l->path);
        }
        struct stat a, b; /* the holder before us may have removed the file we opened */
        if (!fstat(fd, &a) && !stat(l->path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
            write_pid(l->path);
            l->fd = fd;
            return 0;
        }
        close(fd);
    }
    return err_set(e, "cannot lock %s: %s keeps changing", ckpt, l->path);
}

void ckptguard_unlock(CkptLock *l) {
    if (l->fd < 0) return;
    unlink(l->path); /* while still held: a newcomer then finds no file, or its own */
    close(l->fd);
    l->fd = -1;
}

int ckptguard_same_tokenizer(const Spm *given, const char *given_path, const void *inside, size_t len,
                             const char *ckpt, Err *e) {
    Spm *own = spm_load_bytes(inside, len, e);
    if (!own) return err_wrap(e, "the tokenizer inside %s", ckpt);
    int V = spm_vocab_size(own), differ = -1;
    char a[256], b[256];
    if (V != spm_vocab_size(given)) differ = 0;
    for (int id = 0; id < V && differ < 0; id++) {
        Err ignored;
        if (spm_piece(own, id, a, sizeof a, &ignored) || spm_piece(given, id, b, sizeof b, &ignored) || strcmp(a, b))
            differ = id;
    }
    spm_free(own);
    if (differ < 0) return 0;
    return err_set(e, "tokenizer %s is not the one %s was trained with (piece %d differs): resume without -spm to "
                      "use the one inside, or train a new checkpoint", given_path, ckpt, differ);
}

int ckptguard_dims_note(const char *ckpt, const int given[3], unsigned given_mask, char *note, size_t cap) {
    StFile f;
    Config cfg;
    Err ignored;
    if (!given_mask || !ckpt || st_open(&f, ckpt, &ignored)) return 0;
    int bad = ckpt_config_from_file(&f, &cfg, &ignored);
    st_close(&f);
    if (bad) return 0; /* the resume itself will say what is wrong */
    const int have[3] = {cfg.E, cfg.D, cfg.NL};
    const char *flags[3] = {"-edim", "-mdim", "-numl"};
    size_t n = (size_t)snprintf(note, cap, "resuming %s, whose model size overrides", ckpt);
    int said = 0;
    for (int i = 0; i < 3 && n < cap; i++)
        if ((given_mask >> i & 1) && given[i] != have[i])
            n += (size_t)snprintf(note + n, cap - n, "%s %s %d (it has %d)", said++ ? "," : "", flags[i],
                                  given[i], have[i]);
    return said > 0;
}
