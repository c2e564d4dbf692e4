#!/bin/sh
# Measures opening a big corpus: writes a SIZE_MB (default 1024) MB text file
# in /tmp (mixed English lines, some blank, some CRLF, a few over 16 KB), runs
# test_corpus on it alone (SDLM_BIG_CORPUS: open time, peak RSS, random
# reads), once with the file's pages dropped from the page cache and once
# warm, and deletes it. With TOKENIZER=1 it also times `sdlm tokenizer` on it.
# Not part of `make test`: it needs a minute and SIZE_MB of disk.
set -e
cd "$(dirname "$0")/../.."
SIZE_MB=${SIZE_MB:-1024}
f=$(mktemp /tmp/sdlm-big-corpus-XXXXXX)
trap 'rm -f "$f" "$f.tok.model" "$f.tok.vocab"' EXIT INT TERM
python3 - "$f" "$SIZE_MB" <<'PY'
import os, sys
path, size = sys.argv[1], int(sys.argv[2]) << 20
words = open("tests/data/tiny-corpus.txt", encoding="utf-8").read().split("\n")
words = [w for w in words if w]
n, written = 0, 0
with open(path, "wb") as f:
    while written < size:
        out = []
        for _ in range(100000):
            a, b = words[n % len(words)], words[(n * 7 + 3) % len(words)]
            if n % 97 == 0:
                out.append("")
            if n % 1_000_003 == 0:
                out.append(a * 400)  # a line over 16 KB
            line = f"{n}: {a} {b}" if n % 3 else a
            out.append(line + ("\r" if n % 251 == 0 else ""))
            n += 1
        data = ("\n".join(out) + "\n").encode("utf-8")
        f.write(data)
        written += len(data)
    f.flush()
    os.fsync(f.fileno())
print(f"wrote {written} bytes, {n} example lines, to {path}")
PY
make -s build/tests/test_corpus sdlm
# Cold: drop this file's pages from the page cache first (this file only).
python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$f"
echo "# cold page cache:"
SDLM_BIG_CORPUS="$f" ./build/tests/test_corpus
echo "# warm page cache:"
SDLM_BIG_CORPUS="$f" ./build/tests/test_corpus
if [ -n "$TOKENIZER" ]; then
    /usr/bin/time -v ./sdlm tokenizer -d "$f" -o "$f.tok" 2>"$f.time" || { cat "$f.time"; exit 1; }
    grep -E "Elapsed|Maximum resident" "$f.time"
    rm -f "$f.time"
fi
