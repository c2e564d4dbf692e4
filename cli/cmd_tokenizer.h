/* cmd_tokenizer.h: `sdlm tokenizer`, training a SentencePiece tokenizer. */
#ifndef SDLM_CMD_TOKENIZER_H
#define SDLM_CMD_TOKENIZER_H

/* argv[0] is "tokenizer". Returns the process exit status: 0 done, 1 failed
 * (bad corpus, training error), 2 bad command line. */
int cmd_tokenizer(int argc, char **argv);

#endif
