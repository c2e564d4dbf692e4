#!/bin/sh
# Builds a corpus of short, clean English lines from Debian packages, with
# every 20th line (in sorted order) held out for evaluation, and a
# SOURCES.md that lists each source's package, version, licence and lines.
#
#   scripts/make-corpus.sh OUTDIR [SET]
#       -> OUTDIR/corpus.txt, OUTDIR/heldout.txt, OUTDIR/SOURCES.md
#   SET shipped (the default; `make corpus`, `make model`: share/):
#       quotations from `fortunes`, the example sentences of WordNet
#       (`wordnet-base`), the quotations of Webster's 1913 dictionary
#       (`dict-gcide`), and sentences of The Devil's Dictionary (`dict-devil`)
#       and the Jargon File (`dict-jargon`)
#   SET bible (`make corpus2`: build/corpus2/): the verses of the King James
#       Bible (`bible-kjv`), split into sentences: a second corpus of another
#       kind, for measurements on text nobody tuned on
#
# Every line is normalised as the seed's README advises: lower case, no
# digits, only letters and plain punctuation; 4 words or more and 20-160
# characters; no line that is mostly names (capitalised words inside a
# sentence) or a list (a comma or semicolon every other word). Lines that
# differ only in punctuation or spaces count as one (the first source listed
# keeps it). It installs nothing: a missing package is named, exit 1.
# FORTUNES_DIR, WORDNET_DIR, DICTD_DIR and BIBLE (the `bible` program) point
# elsewhere for tests.
set -eu
out=${1:?usage: make-corpus.sh OUTDIR [shipped|bible]}
set_name=${2:-shipped}
fortunes_dir=${FORTUNES_DIR:-/usr/share/games/fortunes}
wordnet_dir=${WORDNET_DIR:-/usr/share/wordnet}
dictd_dir=${DICTD_DIR:-/usr/share/dictd}
bible=${BIBLE:-bible}
tab=$(printf '\t')

# The sources: name|Debian package|what is taken|licence. One row each; the
# order is the priority among near-duplicates and the order of SOURCES.md.
source_table() {
    cat <<'EOF'
fortunes|fortunes|quotations of the sets listed in scripts/make-corpus.sh, attributions cut|BSD-3-Clause (fortune-mod's data, University of California)
wordnet|wordnet-base|the quoted example sentences of every synset's gloss|WordNet 3.0 licence (Princeton; permissive, keep the notice)
gcide|dict-gcide|the quotations that illustrate senses in Webster's 1913 dictionary, attributions cut|GPL-2+ as GCIDE (the 1913 Webster text itself is public domain)
devil|dict-devil|The Devil's Dictionary (Ambrose Bierce, 1911): its definitions split into sentences, verse left out|public domain
jargon|dict-jargon|The Jargon File 4.4.7: its entries' prose split into sentences|public domain
bible|bible-kjv|the King James Version (1611), every verse split into sentences|public domain (Crown patent in the UK)
EOF
}
case $set_name in
    shipped) sources="fortunes wordnet gcide devil jargon" ;;
    bible) sources="bible" ;;
    *) echo "make-corpus.sh: unknown set '$set_name' (shipped or bible)" >&2; exit 2 ;;
esac

# The fortune sets taken: quotations, sayings, short verse. Art, code, chat
# logs, riddles, Debian and Linux tips are left out, and so are the sets that
# are mostly jokes about groups of people.
fortune_files="computers cookie definitions disclaimer education food fortunes goedel humorists kids
knghtbrd law literature love magic medicine miscellaneous news paradoxum people pets platitudes politics
pratchett science songs-poems sports startrek tao translate-me wisdom work"
wordnet_files="data.adj data.adv data.noun data.verb"

# need FILE PACKAGE: stops with the package to install when FILE is missing.
need() {
    [ -e "$1" ] || { echo "make-corpus.sh: $1 missing: apt-get install $2" >&2; exit 1; }
}
check_sources() {
    for s in $sources; do
        case $s in
            fortunes) for f in $fortune_files; do need "$fortunes_dir/$f" fortunes; done ;;
            wordnet) for f in $wordnet_files; do need "$wordnet_dir/$f" wordnet-base; done ;;
            gcide|devil|jargon) need "$dictd_dir/$s.dict.dz" "dict-$s" ;;
            bible) command -v "$bible" >/dev/null 2>&1 || {
                       echo "make-corpus.sh: no '$bible' program: apt-get install bible-kjv" >&2; exit 1; } ;;
        esac
    done
}

# The extractors print one candidate a line, in its original case, with
# spaces collapsed (the cleaner needs the capitals to spot names).

# A quotation is the text between two "%" lines, up to its "-- attribution".
extract_fortunes() {
    for f in $fortune_files; do cat "$fortunes_dir/$f"; printf '\n%%\n'; done |
    awk 'BEGIN { RS = "\n%\n" }
        {
            text = ""
            n = split($0, lines, "\n")
            for (i = 1; i <= n; i++) {
                if (lines[i] ~ /^[ \t]*--/) break
                text = text " " lines[i]
            }
            print text
        }'
}

# A data.* line ends with "| gloss; "example"; "example"--Author".
extract_wordnet() {
    for f in $wordnet_files; do cat "$wordnet_dir/$f"; done |
    awk 'index($0, "  ") != 1 && (p = index($0, "| ")) {
            rest = substr($0, p + 2)
            while (match(rest, /"[^"]+"/)) {
                print substr(rest, RSTART + 1, RLENGTH - 2)
                rest = substr(rest, RSTART + RLENGTH)
            }
        }'
}

# A quotation is a paragraph indented 9 or more spaces that ends with the
# "[1913 Webster]" line; its author follows " --" (on its line or the next).
# Quotations in Middle English (Chaucer, Wyclif, Piers Plowman, ...) are left
# out, and so are those of the Bible ("--Gen. xxiv. 33."): the King James
# text is the second corpus, which should share no line with this one.
extract_gcide() {
    gzip -dc "$dictd_dir/gcide.dict.dz" |
    awk 'BEGIN { RS = "" }
        {
            n = split($0, lines, "\n")
            if (n < 2 || lines[1] !~ /^         / || lines[n] !~ /^ *\[1913 Webster\]$/) next
            text = ""
            for (i = 1; i < n; i++) text = text " " lines[i]
            if (match(text, /[ \t]--[A-Z(0-9]/)) {
                author = substr(text, RSTART + 3)
                text = substr(text, 1, RSTART)
                gsub(/ +/, " ", author)
                if (author ~ /^(Chaucer|Wyclif|Piers Plowman|Gower|R\. of Gl|Rom\. of R|Robert of Brunne|R\. of Brunne|Mandeville|Sir J\. Mandeville|Lydgate)/) next
                if (author ~ /^([0-9I]+ )?[A-Z][a-z]+\.? [ivxlc]+\./) next
            }
            print text
        }'
}

# An entry is "WORD, n.  Definition." (or "WORD, v.t."); verse is indented.
extract_devil() {
    gzip -dc "$dictd_dir/devil.dict.dz" |
    awk 'BEGIN { RS = "" }
        /^[A-Z]/ && !/^00/ {
            gsub(/\n/, " ")
            sub(/^[A-Z][-A-Z'"'"' ]*, *[a-z]+\.( ?[a-z]+\.)? */, "")
            gsub(/_/, "")
            print
        }' | split_sentences
}

# An entry's prose is indented 4 spaces (quoted code and letters 8); senses
# are numbered. Curly quotes and dashes become plain ones (byte sequences:
# the script runs in the C locale).
extract_jargon() {
    gzip -dc "$dictd_dir/jargon.dict.dz" |
    sed -e "s/‘/'/g" -e "s/’/'/g" -e 's/“/"/g' -e 's/”/"/g' -e 's/—/ -- /g' |
    awk 'BEGIN { RS = "" }
        /^    [^ ]/ {
            gsub(/\n/, " ")
            sub(/^ *[0-9]+\. /, "")
            print
        }' | split_sentences
}

# `bible` prints a verse as "  N text" on one (wide) line, under chapter titles.
extract_bible() {
    "$bible" -l 5000 Gen1:1-Rev22:21 | awk '/^ +[0-9]+ / { sub(/^ +[0-9]+ /, ""); print }' | split_sentences
}

# split_sentences: each input line is a paragraph; prints its sentences, one
# a line: a cut after . ! or ? (and closing quotes) before a capital, but not
# after an initial or a common abbreviation.
split_sentences() {
    awk '{
        text = $0
        done = ""
        while (match(text, /[.!?]["'"'"')]* +["'"'"'(]*[A-Z]/)) {
            cut = RSTART + index(substr(text, RSTART, RLENGTH), " ") - 1
            head = substr(text, 1, cut - 1)
            text = substr(text, cut)
            if (head ~ /(^| |\.)([A-Z]|Mr|Mrs|Dr|St|Prof|Mt|Messrs|vs|viz|cf|etc|[a-z]\.[a-z])\.$/) {
                done = done head
            } else {
                print done head
                done = ""
            }
        }
        print done text
    }'
}

# clean_lines SOURCE: normalises each line and prints "key<TAB>source<TAB>line"
# for the lines that pass; the key is the line's letters only, so that lines
# differing in punctuation or spaces share it.
clean_lines() {
    awk -v src="$1" '
        function mostly_names(s,    w, n, i, names, start) {
            n = split(s, w, " ")
            names = 0; start = 1
            for (i = 1; i <= n; i++) {
                if (w[i] ~ /^["'"'"'(]*[A-Z]/ && !start && w[i] !~ /^I($|'"'"')/) names++
                else if (w[i] ~ /[A-Z][A-Z]/ && w[i] !~ /[a-z]/) names++
                start = w[i] ~ /[.!?:]["'"'"')]*$/
            }
            return 2 * names > n
        }
        {
            text = $0
            gsub(/[ \t]+/, " ", text)
            sub(/^ /, "", text); sub(/ $/, "", text)
            gsub(/\. \. \./, "...", text)
            sub(/^\.\.\. ?/, "", text)
            if (mostly_names(text)) next
            text = tolower(text)
            gsub(/`/, "\047", text)
            if (text ~ /[0-9]/ || text ~ /[^a-z .,;:!?\047"-]/ || text ~ /[?!][a-z]/) next
            if (text ~ /[:,]$/) next
            words = split(text, w, " ")
            if (length(text) < 20 || length(text) > 160 || words < 4) next
            if (2 * gsub(/[,;]/, "&", text) > words) next
            key = text
            gsub(/[^a-z]/, "", key)
            print key "\t" src "\t" text
        }'
}

# source_notice NAME: the notice a source's licence asks copies to carry.
source_notice() {
    case $1 in
        fortunes) cat <<'EOF'

### fortunes

Copyright (c) 1991 The Regents of the University of California. All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are
permitted provided that the following conditions are met: 1. Redistributions of source
code must retain the above copyright notice, this list of conditions and the following
disclaimer. 2. Redistributions in binary form must reproduce the above copyright notice,
this list of conditions and the following disclaimer in the documentation and/or other
materials provided with the distribution. 4. Neither the name of the University nor the
names of its contributors may be used to endorse or promote products derived from this
software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE REGENTS AND CONTRIBUTORS ``AS IS'' AND ANY EXPRESS OR
IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL
THE REGENTS OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL,
EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR
TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS
SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
EOF
        ;;
        wordnet) cat <<'EOF'

### wordnet

WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.

Permission to use, copy, modify and distribute this software and database and its
documentation for any purpose and without fee or royalty is hereby granted, provided that
you agree to comply with the following copyright notice and statements, including the
disclaimer, and that the same appear on ALL copies of the software, database and
documentation, including modifications that you make for internal use or for distribution.

THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO
REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION,
PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS
FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR
DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER
RIGHTS.

The name of Princeton University or Princeton may not be used in advertising or publicity
pertaining to distribution of the software and/or database. Title to copyright in this
software, database and any associated documentation shall at all times remain with
Princeton University and LICENSEE agrees to preserve same.
EOF
        ;;
        gcide) cat <<'EOF'

### gcide

The lines from GCIDE, the GNU version of the Collaborative International Dictionary of
English, are free software: you can redistribute and/or modify them under the terms of the
GNU General Public License as published by the Free Software Foundation, version 2 or (at
your option) any later version; they come WITHOUT ANY WARRANTY. The full text and sources
are in Debian's dict-gcide package (/usr/share/common-licenses/GPL-2).
EOF
        ;;
    esac
}

# count_source SOURCE FILE: lines of FILE ("line<TAB>source") from SOURCE.
count_source() {
    awk -F "$tab" -v s="$1" '$2 == s { n++ } END { print n + 0 }' "$2"
}

# write_sources FILE TAGGED: the table of sources with their line counts.
write_sources() {
    {
        echo "# Sources of corpus.txt and heldout.txt"
        echo
        echo "Built by \`scripts/make-corpus.sh OUTDIR $set_name\` on Debian 12. Lines are lower case,"
        echo "4+ words, 20-160 characters, deduplicated modulo punctuation and spaces;"
        echo "every 20th line of the sorted list is held out."
        echo
        echo "| source | package | version | what was taken | licence | lines |"
        echo "| --- | --- | --- | --- | --- | ---: |"
        source_table | while IFS='|' read -r name pkg what licence; do
            case " $sources " in *" $name "*) ;; *) continue ;; esac
            version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || echo "not installed")
            echo "| $name | $pkg | ${version:-not installed} | $what | $licence | $(count_source "$name" "$2") |"
        done
        echo "| all | | | corpus.txt $(wc -l <"$out/corpus.txt") lines, heldout.txt $(wc -l <"$out/heldout.txt") lines | | $(wc -l <"$2") |"
        echo
        case $set_name in
            shipped) echo "A second corpus of another kind, never shipped, for measurements on text nobody"
                     echo "tuned on: \`make corpus2\` (\`scripts/make-corpus.sh build/corpus2 bible\`) takes the"
                     echo "King James Bible (\`bible-kjv\`, public domain), split into sentences; it shares no"
                     echo "source with the shipped corpus (Webster's Bible quotations are left out here)." ;;
            bible) echo "The second corpus (\`make corpus2\`): text of another kind than the shipped one,"
                   echo "for measurements on a corpus nobody tuned on. Not shipped." ;;
        esac
        for s in $sources; do source_notice "$s"; done | sed '1s/^/\n## Notices that the sources'"'"' licences ask copies to carry\n/'
    } >"$1"
}

check_sources
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for s in $sources; do
    LC_ALL=C "extract_$s" | LC_ALL=C clean_lines "$s" >>"$work/candidates"
done
# The first line of each key wins (a stable sort keeps the sources' order);
# then the lines sorted, with their source beside them.
LC_ALL=C sort -s -t "$tab" -k1,1 "$work/candidates" |
    awk -F "$tab" '$1 != last { print $3 "\t" $2; last = $1 }' |
    LC_ALL=C sort -t "$tab" -k1,1 >"$work/tagged"
awk -F "$tab" 'NR % 20 != 0 { print $1 }' "$work/tagged" >"$out/corpus.txt"
awk -F "$tab" 'NR % 20 == 0 { print $1 }' "$work/tagged" >"$out/heldout.txt"
write_sources "$out/SOURCES.md" "$work/tagged"
for s in $sources; do printf ' %s %s' "$s" "$(count_source "$s" "$work/tagged")"; done >"$work/counts"
echo "make-corpus.sh: $(wc -l <"$out/corpus.txt") training lines, $(wc -l <"$out/heldout.txt") held out" \
     "($(du -k "$out/corpus.txt" | cut -f1) KB); by source:$(cat "$work/counts")"
