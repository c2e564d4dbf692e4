/* tmpdir.h: scratch directories and whole-file helpers for tests.
 *
 * tmpdir_make() makes a fresh directory under $TMPDIR (or /tmp) with mkdtemp;
 * tmpdir_remove() deletes it and everything in it. */
#ifndef SDLM_TMPDIR_H
#define SDLM_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir_make(const char *tag) __attribute__((unused));
static char *tmpdir_make(const char *tag) {
    const char *base = getenv("TMPDIR");
    if (!base || base[0] != '/') base = "/tmp";
    size_t n = strlen(base) + strlen(tag) + 32;
    char *dir = malloc(n);
    if (!dir) return NULL;
    snprintf(dir, n, "%s/sdlm-%s-XXXXXX", base, tag);
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

/* Removes dir and its contents (recursively); frees nothing. */
static void tmpdir_remove(const char *dir) __attribute__((unused));
static void tmpdir_remove(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            struct stat st;
            if (!lstat(path, &st) && S_ISDIR(st.st_mode)) {
                chmod(path, 0700);
                tmpdir_remove(path);
            } else {
                unlink(path);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Number of entries in dir whose name contains part (e.g. ".tmp."). */
static int tmpdir_count(const char *dir, const char *part) __attribute__((unused));
static int tmpdir_count(const char *dir, const char *part) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strstr(de->d_name, part)) n++;
    closedir(d);
    return n;
}

/* The whole file in a malloc'd buffer (NULL on failure). */
static unsigned char *file_read_all(const char *path, size_t *len) __attribute__((unused));
static unsigned char *file_read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            unsigned char *p = realloc(buf, cap);
            if (!p) break;
            buf = p;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf ? buf : malloc(1);
}

static int file_write_all(const char *path, const void *buf, size_t len) __attribute__((unused));
static int file_write_all(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int bad = fwrite(buf, 1, len, f) != len;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

#endif
