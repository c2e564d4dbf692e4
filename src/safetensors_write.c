/* safetensors_write.c: the atomic safetensors writer.
 *
 * Collects borrowed tensors, builds the header with jansson, and writes
 * PATH.tmp.<pid> beside PATH: length, header padded with spaces to a multiple
 * of 8, data; then fsync, rename over PATH, fsync the directory. Any failure
 * removes the temp file and names the step with strerror; PATH is never
 * touched before the rename. After a save, temp files of the same PATH left by
 * processes that died mid-save (kill -9, power loss) are removed. A symlinked
 * PATH is written through (its target is replaced, the link stays), and the
 * replacement keeps the old file's mode.
 *
 * Not here: reading (safetensors.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileguard.h"
#include "safetensors.h"
#include "safetensors_util.h"

void st_writer_init(StWriter *w) { memset(w, 0, sizeof *w); }

int st_writer_add(StWriter *w, const char *name, StDtype dtype, int ndim, const int64_t *shape, const void *data,
                  Err *e) {
    if (!name) return err_set(e, "safetensors writer: tensor without a name");
    Shown shown_name = shown(name);
    const char *nm = shown_name.s;
    if (!strcmp(name, "__metadata__")) return err_set(e, "safetensors writer: \"__metadata__\" is not a tensor name");
    if ((unsigned)dtype >= ST_DTYPE_COUNT) return err_set(e, "safetensors writer: tensor %s: bad dtype %d", nm, dtype);
    if (ndim < 0 || ndim > ST_MAX_DIMS)
        return err_set(e, "safetensors writer: tensor %s: %d dimensions; 0 to %d are supported", nm, ndim, ST_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0) return err_set(e, "safetensors writer: tensor %s: dimension %d is negative", nm, i);
    int64_t count = shape_count(ndim, shape);
    uint64_t nbytes;
    if (count < 0 || __builtin_mul_overflow((uint64_t)count, st_dtype_size(dtype), &nbytes) || nbytes > SIZE_MAX)
        return err_set(e, "safetensors writer: tensor %s: shape %s is too large", nm, shape_text(ndim, shape).s);
    if (nbytes && !data) return err_set(e, "safetensors writer: tensor %s has no data", nm);
    if (w->count == w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        StEntry *p = realloc(w->entries, (size_t)cap * sizeof *p);
        if (!p) return err_set(e, "safetensors writer: out of memory");
        w->entries = p;
        w->cap = cap;
    }
    StEntry *en = &w->entries[w->count++];
    memset(en, 0, sizeof *en);
    en->name = name;
    en->dtype = dtype;
    en->ndim = ndim;
    for (int i = 0; i < ndim; i++) en->shape[i] = shape[i];
    en->data = data;
    en->nbytes = (size_t)nbytes;
    return 0;
}

int st_writer_meta(StWriter *w, const char *key, const char *value, Err *e) {
    if (!key || !value) return err_set(e, "safetensors writer: metadata key or value missing");
    for (int i = 0; i < w->nmeta; i++)
        if (!strcmp(w->meta[i].key, key)) {
            char *v = strdup(value);
            if (!v) return err_set(e, "safetensors writer: out of memory");
            free(w->meta[i].value);
            w->meta[i].value = v;
            return 0;
        }
    if (w->nmeta == w->metacap) {
        int cap = w->metacap ? 2 * w->metacap : 16;
        StMeta *p = realloc(w->meta, (size_t)cap * sizeof *p);
        if (!p) return err_set(e, "safetensors writer: out of memory");
        w->meta = p;
        w->metacap = cap;
    }
    StMeta *m = &w->meta[w->nmeta];
    m->key = strdup(key);
    m->value = strdup(value);
    if (!m->key || !m->value) {
        free(m->key), free(m->value);
        return err_set(e, "safetensors writer: out of memory");
    }
    w->nmeta++;
    return 0;
}

void st_writer_free(StWriter *w) {
    for (int i = 0; i < w->nmeta; i++) free(w->meta[i].key), free(w->meta[i].value);
    free(w->meta);
    free(w->entries);
    memset(w, 0, sizeof *w);
}

/* The header JSON (unpadded), or NULL with e filled. Caller frees. */
static char *writer_header(const StWriter *w, Err *e) {
    json_t *root = json_object(), *meta = NULL;
    char *text = NULL;
    if (!root) goto oom;
    if (w->nmeta) {
        if (!(meta = json_object()) || json_object_set_new(root, "__metadata__", meta)) goto oom;
        for (int i = 0; i < w->nmeta; i++) {
            json_t *v = json_string(w->meta[i].value);
            if (!v || json_object_set_new(meta, w->meta[i].key, v)) {
                err_set(e, "safetensors writer: metadata \"%s\" is not valid UTF-8", shown(w->meta[i].key).s);
                goto fail;
            }
        }
    }
    uint64_t offset = 0;
    for (int i = 0; i < w->count; i++) {
        const StEntry *en = &w->entries[i];
        if (json_object_get(root, en->name)) {
            err_set(e, "safetensors writer: tensor %s was added twice", shown(en->name).s);
            goto fail;
        }
        json_t *t = json_object(), *shape = json_array(), *offs = json_array();
        if (!t || !shape || !offs) {
            json_decref(t), json_decref(shape), json_decref(offs);
            goto oom;
        }
        int bad = json_object_set_new(t, "dtype", json_string(st_dtype_name(en->dtype)));
        for (int d = 0; d < en->ndim; d++) bad |= json_array_append_new(shape, json_integer(en->shape[d]));
        bad |= json_array_append_new(offs, json_integer((json_int_t)offset));
        bad |= json_array_append_new(offs, json_integer((json_int_t)(offset + en->nbytes)));
        bad |= json_object_set_new(t, "shape", shape);
        bad |= json_object_set_new(t, "data_offsets", offs);
        if (bad) {
            json_decref(t);
            goto oom;
        }
        if (json_object_set_new(root, en->name, t)) {
            err_set(e, "safetensors writer: tensor name %s is not valid UTF-8", shown(en->name).s);
            goto fail;
        }
        offset += en->nbytes;
    }
    if (!(text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER))) goto oom;
    json_decref(root);
    return text;
oom:
    err_set(e, "safetensors writer: out of memory building the header");
fail:
    json_decref(root);
    return NULL;
}

static int write_all(int fd, const void *buf, size_t n) {
    const unsigned char *p = buf;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        if (k == 0) return errno = ENOSPC, -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* fsyncs the directory holding path, so the rename itself is durable. */
static int sync_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return errno = ENOMEM, -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc && err == EINVAL) rc = 0; /* a file system that cannot sync directories */
    errno = err;
    return rc;
}

/* Best effort: unlinks PATH.tmp.<pid> beside path for every pid that is no
 * longer a process (its writer died before the rename). */
static void remove_stale_temps(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t blen = strlen(base), dlen = slash ? (size_t)(slash - path) : 0;
    char *dir = slash ? strndup(path, slash == path ? 1 : dlen) : strdup(".");
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        const char *n = de->d_name;
        if (strncmp(n, base, blen) || strncmp(n + blen, ".tmp.", 5)) continue;
        char *end;
        long pid = strtol(n + blen + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        size_t cap = dlen + strlen(n) + 2;
        char *full = malloc(cap);
        if (!full) break;
        snprintf(full, cap, "%.*s%s%s", (int)dlen, path, slash ? "/" : "", n);
        unlink(full);
        free(full);
    }
    if (d) closedir(d);
    free(dir);
}

int st_writer_save(const StWriter *w, const char *link_path, Err *e) {
    char path[PATH_MAX]; /* a symlink is written through: its target is replaced, the link stays */
    if (fileguard_target(link_path, path, sizeof path, e)) return err_wrap(e, "saving %s", link_path);
    char *header = writer_header(w, e);
    if (!header) return err_wrap(e, "saving %s", path);
    size_t hlen = strlen(header), padded = (hlen + 7) / 8 * 8;
    size_t tmplen = strlen(path) + 32;
    char *tmp = malloc(tmplen);
    if (!tmp) {
        free(header);
        return err_set(e, "saving %s: out of memory", path);
    }
    snprintf(tmp, tmplen, "%s.tmp.%ld", path, (long)getpid());

    const char *step = "creating the temp file";
    int mode = fileguard_mode(path); /* the replacement keeps the old file's mode (600 stays 600) */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode >= 0 ? 0600 : 0666), renamed = 0;
    if (fd < 0) goto fail;
    step = "setting the temp file's mode";
    if (mode >= 0 && fchmod(fd, (mode_t)mode)) goto fail;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> 8 * i);
    step = "writing the temp file";
    if (write_all(fd, len8, 8) || write_all(fd, header, hlen)) goto fail;
    if (write_all(fd, "        ", padded - hlen)) goto fail;
    for (int i = 0; i < w->count; i++)
        if (write_all(fd, w->entries[i].data, w->entries[i].nbytes)) goto fail;
    step = "syncing the temp file to disk";
    if (fsync(fd)) goto fail;
    step = "closing the temp file";
    int rc = close(fd);
    fd = -1;
    if (rc) goto fail;
    step = "renaming the temp file";
    if (rename(tmp, path)) goto fail;
    renamed = 1;
    step = "syncing the directory";
    if (sync_dir(path)) goto fail;
    remove_stale_temps(path);
    free(tmp);
    free(header);
    return 0;
fail:;
    int err = errno;
    if (fd >= 0) close(fd);
    if (!renamed) unlink(tmp);
    if (renamed)
        err_set(e, "saving %s: the new file is in place, but %s failed: %s", path, step, strerror(err));
    else
        err_set(e, "saving %s: %s %s failed: %s", path, step, tmp, strerror(err));
    free(tmp);
    free(header);
    return -1;
}
