/* main.c: the sdlm command line: dispatches to the commands. */
#include <stdio.h>
#include <string.h>

#include "cmd_history.h"

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--version")) {
        printf("sdlm %s\n", SDLM_VERSION);
        return 0;
    }
    /* History commands (store branch); the lead owns the full dispatch table. */
    if (argc > 1 && !strcmp(argv[1], "runs")) return cmd_runs(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "history")) return cmd_history(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "samples")) return cmd_samples(argc - 1, argv + 1);
    fprintf(stderr, "sdlm: nothing here yet\n");
    return 2;
}
