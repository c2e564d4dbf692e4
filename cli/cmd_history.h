/* cmd_history.h: `sdlm runs`, `sdlm history RUN`, `sdlm samples`: the history
 * database as plain aligned text. argv[0] is the command name. Exit status 0,
 * 1 on an error (one line on stderr), 2 on a usage error. */
#ifndef SDLM_CMD_HISTORY_H
#define SDLM_CMD_HISTORY_H

int cmd_runs(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_samples(int argc, char **argv);

#endif
