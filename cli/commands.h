/* commands.h: every sdlm command, one function each: int cmd_X(argc, argv)
 * with argv[0] the command's name. Exit codes (man/sdlm.1, EXIT STATUS): 0
 * success, 1 the command ran but its check failed (parity outside tolerance,
 * a training run that failed after it started: saves failing), 2 bad usage or
 * bad input (for train: also a checkpoint it must not or cannot write, found
 * before the first step), 3 an I/O or resource failure (a history database
 * that cannot be read or is damaged), 130 interrupted. */
#ifndef SDLM_COMMANDS_H
#define SDLM_COMMANDS_H

enum { EXIT_OK = 0, EXIT_CHECK = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

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
