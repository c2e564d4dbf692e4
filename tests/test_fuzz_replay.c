/* test_fuzz_replay.c: runs the libFuzzer harnesses tests/fuzz/fuzz_sample.c and
 * tests/fuzz/fuzz_template.c on every committed seed and regression input,
 * without libFuzzer, so `make test` (and `make asan`) keep the crashes the
 * fuzzers once found fixed. (fuzz_ckpt and fuzz_corpus inputs are replayed by
 * test_safetensors and test_corpus.) Regression inputs live in
 * tests/fuzz/regress/ (fuzz_sample's, at the top) and tests/fuzz/regress/NAME/. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"

/* Each harness defines LLVMFuzzerTestOneInput: give each its own name. */
#define LLVMFuzzerTestOneInput fuzz_sample_one
#include "fuzz/fuzz_sample.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_template_one
#include "fuzz/fuzz_template.c"
#undef LLVMFuzzerTestOneInput

typedef int (*Harness)(const uint8_t *data, size_t size);

/* Replays every regular file in dir; a missing dir is fine when optional. */
static void replay_dir(const char *name, Harness run, const char *dir, int optional) {
    DIR *d = opendir(dir);
    if (!d) {
        if (optional) check_ok(1, "%s: absent (nothing to replay)", dir);
        else check_ok(0, "%s: cannot open", dir);
        return;
    }
    int files = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strncmp(de->d_name, "README", 6)) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) || !S_ISREG(st.st_mode)) continue;
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        size_t cap = 1 << 20;
        uint8_t *buf = malloc(cap);
        size_t n = fread(buf, 1, cap, f);
        fclose(f);
        /* An exact-size copy, so AddressSanitizer sees any read past the end. */
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        free(buf);
        run(exact, n);
        free(exact);
        files++;
    }
    closedir(d);
    check_ok(optional || files > 0, "%s: %d inputs replayed through %s without a crash", dir, files, name);
}

int main(void) {
    replay_dir("fuzz_sample", fuzz_sample_one, "tests/fuzz/corpus/sample", 0);
    replay_dir("fuzz_sample", fuzz_sample_one, "tests/fuzz/regress", 0);
    replay_dir("fuzz_template", fuzz_template_one, "tests/fuzz/corpus/template", 0);
    replay_dir("fuzz_template", fuzz_template_one, "tests/fuzz/regress/template", 1);
    return check_done();
}
