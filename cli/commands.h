/* commands.h: every sdlm command, one function each: int cmd_X(argc, argv)
 * with argv[0] the command's name, returning an exit status of exitcode.h. */
#ifndef SDLM_COMMANDS_H
#define SDLM_COMMANDS_H

#include "exitcode.h"

int cmd_parity(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_infill(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_samples(int argc, char **argv);
int cmd_keys(int argc, char **argv); /* the editor's keymap, for the man page */

#endif
