#!/bin/sh
# Builds the shipped corpus from Debian's `fortunes` package (BSD licence):
# short English quotations, one per line, normalised as the seed's README
# advises (lower case, no digits, only letters and plain punctuation), with
# every 20th line (in sorted order) held out for evaluation.
#
#   scripts/make-corpus.sh OUTDIR   -> OUTDIR/corpus.txt, OUTDIR/heldout.txt
set -eu
out=${1:?usage: make-corpus.sh OUTDIR}
src=${FORTUNES_DIR:-/usr/share/games/fortunes}
# The quotation files; art, code, chat logs, riddles and lists are left out,
# and so are the sets that are mostly jokes about groups of people.
files="cookie definitions disclaimer education food fortunes goedel humorists kids knghtbrd law
literature love magic miscellaneous news paradoxum people pets platitudes politics pratchett science
sports tao translate-me wisdom work"
for f in $files; do
    [ -f "$src/$f" ] || { echo "make-corpus.sh: $src/$f missing: apt-get install fortunes" >&2; exit 1; }
done
mkdir -p "$out"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for f in $files; do cat "$src/$f"; printf '\n%%\n'; done |
LC_ALL=C awk '
    BEGIN { RS = "\n%\n" }
    {
        text = ""
        n = split($0, lines, "\n")
        for (i = 1; i <= n; i++) {
            if (lines[i] ~ /^[ \t]*--/) break          # an attribution ends the quotation
            text = text " " lines[i]
        }
        text = tolower(text)
        gsub(/`/, "\047", text)
        gsub(/[ \t]+/, " ", text)
        sub(/^ /, "", text); sub(/ $/, "", text)
        if (text ~ /[0-9]/ || text ~ /[^a-z .,;:!?\047"-]/) next
        if (length(text) < 20 || length(text) > 160 || split(text, w, " ") < 4) next
        print text
    }' | LC_ALL=C sort -u >"$tmp"
awk 'NR % 20 != 0' "$tmp" >"$out/corpus.txt"
awk 'NR % 20 == 0' "$tmp" >"$out/heldout.txt"
echo "make-corpus.sh: $(wc -l <"$out/corpus.txt") training lines, $(wc -l <"$out/heldout.txt") held out, from $src"
