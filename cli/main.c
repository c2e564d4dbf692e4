/* main.c: the sdlm command line: dispatches to the commands. */
#include <stdio.h>
#include <string.h>

#include "cmd_tokenizer.h"

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--version")) {
        printf("sdlm %s\n", SDLM_VERSION);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "tokenizer")) return cmd_tokenizer(argc - 1, argv + 1);
    fprintf(stderr, "sdlm: nothing here yet\n");
    return 2;
}
