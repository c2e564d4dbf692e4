/* test_fuzz_replay.c: runs the libFuzzer harness tests/fuzz/fuzz_sample.c on
 * every committed seed and regression input, without libFuzzer, so `make test`
 * (and `make asan`) keep the crashes the fuzzer once found fixed. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fuzz/fuzz_sample.c"

static void replay_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        check_ok(0, "%s: cannot open", dir);
        return;
    }
    int files = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
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
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
        files++;
    }
    closedir(d);
    check_ok(files > 0, "%s: %d inputs replayed through fuzz_sample without a crash", dir, files);
}

int main(void) {
    replay_dir("tests/fuzz/corpus/sample");
    replay_dir("tests/fuzz/regress");
    return check_done();
}
