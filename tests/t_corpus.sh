#!/bin/sh
# scripts/make-corpus.sh on small stand-ins for each Debian package (made
# here, so the test needs none of them): what each extractor takes and
# leaves, the cleaning rules, near-duplicates, the held-out split, SOURCES.md,
# the messages for missing packages; then the committed share/ corpus against
# the same rules, and, where the packages are installed at the versions that
# share/SOURCES.md records, a rebuild of share/ byte for byte.
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/lib.sh
script=scripts/make-corpus.sh

# --- the stand-ins
mkdir -p "$tmp/fortunes" "$tmp/wordnet" "$tmp/dictd"
for f in $(sed -n '/^fortune_files="/,/"$/p' $script | sed 's/fortune_files=//; s/"//g'); do
    : >"$tmp/fortunes/$f"
done
cat >"$tmp/fortunes/fortunes" <<'EOF'
A watched pot never boils, but a watched kettle might.
		-- Anonymous
%
A watched pot never boils -- but a watched KETTLE might!
%
The 3 little pigs built houses of straw and sticks.
%
Too short to keep.
%
Yesterday Ann Bob Carl Dave and Eve met.
%
apples, pears, plums, figs, dates, limes, nuts, and more.
%
Here is what you need to know:
%
EOF
for a in b c d f; do
    for b in a e i o u l m n r s; do printf 'Every %s%s%s has its day in the sun.\n%%\n' "$a" "$b" "$a" >>"$tmp/fortunes/fortunes"; done
done
printf '  1 This software and database is being provided to you, the LICENSEE, by\n' >"$tmp/wordnet/data.noun"
printf '%s\n' '00001740 03 n 01 entity 0 003 | that which is perceived; "the cat sat quietly on the mat"; "a dog"; "the harder the conflict the more glorious the triumph"--Thomas Paine' >>"$tmp/wordnet/data.noun"
: >"$tmp/wordnet/data.adj"; : >"$tmp/wordnet/data.adv"; : >"$tmp/wordnet/data.verb"
gzip -c >"$tmp/dictd/gcide.dict.dz" <<'EOF'
Affect \Af*fect"\, v. t.
   1. To act upon; to produce an effect or change upon.
      [1913 Webster]

            The climate affected their health and spirits.
                                                  --Macaulay.
      [1913 Webster]

            Whan that Aprille with his shoures soote. --Chaucer.
      [1913 Webster]

            In the beginning was the word of the lord. --John i.
                                                  1.
      [1913 Webster]

            Religion . . . means the conscious relation between man and God. --J. K.
      [1913 Webster]
EOF
gzip -c >"$tmp/dictd/devil.dict.dz" <<'EOF'
HEARSE, n.  Death's baby-carriage with a sleepy horse.

HEART, n.  An automatic, muscular blood-pump.  It was found by Mr. Pasteur
in the stomach of a cook.

    Heat, says Professor Tyndall, is a mode of motion that never stops.
EOF
gzip -c >"$tmp/dictd/jargon.dict.dz" <<'EOF'
parse
 v.

    1. To understand or comprehend in full. “It's very simple; you just kretch
    the glims.” “I can't parse that — at all.”
EOF
cat >"$tmp/bible" <<'EOF'
#!/bin/sh
cat <<'EOT'

Genesis 1

  1 In the beginning God created the heaven and the earth.
  2 And the earth was without form, and void. And darkness was upon the face of the deep.
EOT
EOF
chmod +x "$tmp/bible"
export FORTUNES_DIR="$tmp/fortunes" WORDNET_DIR="$tmp/wordnet" DICTD_DIR="$tmp/dictd" BIBLE="$tmp/bible"
build() { # build OUTDIR [SET]: runs the script, stdout/stderr to $tmp/out, $tmp/err; status 0
    sh $script "$@" >"$tmp/out" 2>"$tmp/err"
}
has() { grep -qxF "$2" "$tmp/$1/corpus.txt" "$tmp/$1/heldout.txt"; }
hasnt() { ! grep -qF "$2" "$tmp/$1/corpus.txt" "$tmp/$1/heldout.txt"; }

# --- the shipped set on the stand-ins
check "shipped set: status 0" build "$tmp/a"
check "shipped set: one summary line naming every source" \
    grep -q "training lines, .* held out .*fortunes .* wordnet .* gcide .* devil .* jargon" "$tmp/out"
check "a quotation, lower case, attribution cut" has a "a watched pot never boils, but a watched kettle might."
check "its near-duplicate (punctuation, case) dropped" hasnt a "a watched pot never boils -- but"
check "a line with digits dropped" hasnt a "little pigs"
check "a line under 4 words or 20 characters dropped" hasnt a "too short"
check "a line of mostly names dropped" hasnt a "yesterday ann"
check "a list dropped" hasnt a "apples, pears"
check "a line ending in a colon dropped" hasnt a "here is what"
check "WordNet examples taken, attribution cut" has a "the harder the conflict the more glorious the triumph"
check "WordNet: the gloss and short examples not taken" hasnt a "perceived"
check "WordNet: the licence header not taken" hasnt a "licensee"
check "Webster quotation taken, author cut" has a "the climate affected their health and spirits."
check "Webster: Middle English left out" hasnt a "aprille"
check "Webster: Bible quotations left out" hasnt a "in the beginning was"
check "Webster: definitions not taken" hasnt a "to act upon"
check "Webster: spaced ellipsis closed up" has a "religion ... means the conscious relation between man and god."
check "Devil's Dictionary: headword cut" has a "death's baby-carriage with a sleepy horse."
check "Devil's Dictionary: no cut after Mr." has a "it was found by mr. pasteur in the stomach of a cook."
check "Devil's Dictionary: verse left out" hasnt a "tyndall"
check "Jargon File: sense number cut, sentences split" has a "to understand or comprehend in full."
check "Jargon File: curly quotes and dashes made plain" has a "\"i can't parse that -- at all.\""
check "no Bible in the shipped set" hasnt a "darkness"
n=$(cat "$tmp/a/corpus.txt" "$tmp/a/heldout.txt" | wc -l)
check "held out: every 20th line of the sorted list" \
    sh -c "LC_ALL=C sort '$tmp/a/corpus.txt' '$tmp/a/heldout.txt' | awk 'NR % 20 == 0' | cmp -s - '$tmp/a/heldout.txt'"
check "held out: 2 of $n lines, none in corpus.txt" sh -c "[ $n -ge 40 ] && [ \$(wc -l <'$tmp/a/heldout.txt') -eq 2 ] &&
    ! LC_ALL=C sort '$tmp/a/corpus.txt' | LC_ALL=C comm -12 - '$tmp/a/heldout.txt' | grep -q ."
check "SOURCES.md: one row per source with its lines" \
    sh -c "grep -q '^| fortunes | fortunes | .* | 41 |\$' '$tmp/a/SOURCES.md' && grep -q '^| wordnet | wordnet-base | .* | 2 |\$' '$tmp/a/SOURCES.md' &&
           grep -q '^| devil | dict-devil | .* | 3 |\$' '$tmp/a/SOURCES.md' && grep -q '^| all | .* | $n |\$' '$tmp/a/SOURCES.md'"
check "SOURCES.md: licences named" grep -q "| public domain |" "$tmp/a/SOURCES.md"
check "SOURCES.md: the notices WordNet's and fortunes' licences ask for" sh -c "
    grep -q 'WordNet 3.0 Copyright 2006 by Princeton University' '$tmp/a/SOURCES.md' &&
    grep -q 'Copyright (c) 1991 The Regents of the University of California' '$tmp/a/SOURCES.md'"
build "$tmp/b"
check "the same packages build the same corpus" sh -c "cmp -s '$tmp/a/corpus.txt' '$tmp/b/corpus.txt' && cmp -s '$tmp/a/heldout.txt' '$tmp/b/heldout.txt'"

# --- the second corpus
check "bible set: status 0" build "$tmp/k" bible
check "bible set: verses split into sentences" sh -c "grep -qxF 'and the earth was without form, and void.' '$tmp/k/corpus.txt' &&
    grep -qxF 'and darkness was upon the face of the deep.' '$tmp/k/corpus.txt'"
check "bible set: chapter titles left out, nothing else taken" sh -c "! grep -q genesis '$tmp/k/corpus.txt' && [ \$(wc -l <'$tmp/k/corpus.txt') -eq 3 ]"

# --- missing packages, bad set
check "fortunes missing: status 1" sh -c "FORTUNES_DIR='$tmp/none' sh $script '$tmp/c' 2>'$tmp/err'; [ \$? -eq 1 ]"
check "fortunes missing: one line on stderr" lines "$tmp/err" 1
check "fortunes missing: names the package" grep -q "apt-get install fortunes" "$tmp/err"
check "GCIDE missing: names the package" sh -c "DICTD_DIR='$tmp/none' sh $script '$tmp/c' 2>&1 | grep -q 'apt-get install dict-gcide'"
check "bible missing: names the package" sh -c "BIBLE='$tmp/none' sh $script '$tmp/c' bible 2>&1 | grep -q 'apt-get install bible-kjv'"
check "nothing written when a package is missing" test ! -e "$tmp/c"
check "unknown set: status 2" sh -c "sh $script '$tmp/c' novels 2>/dev/null; [ \$? -eq 2 ]"

# --- the committed corpus
unset FORTUNES_DIR WORDNET_DIR DICTD_DIR BIBLE
check "share/: every line 4+ words, 20-160 characters, lower-case letters and plain punctuation" \
    sh -c "LC_ALL=C awk 'length(\$0) < 20 || length(\$0) > 160 || NF < 4 || /[^a-z .,;:!?\\047\"-]/' share/corpus.txt share/heldout.txt | grep -q . && exit 1; exit 0"
check "share/: no two lines the same modulo punctuation and spaces" \
    sh -c "LC_ALL=C awk '{ k = \$0; gsub(/[^a-z]/, \"\", k); if (seen[k]++) { print; exit 1 } }' share/corpus.txt share/heldout.txt >/dev/null"
check "share/: 70,000+ training lines, 300+ held out, corpus + held out within 6 MB" \
    sh -c "[ \$(wc -l <share/corpus.txt) -ge 70000 ] && [ \$(wc -l <share/heldout.txt) -ge 300 ] &&
           [ \$(cat share/corpus.txt share/heldout.txt | wc -c) -le 6000000 ]"
check "share/SOURCES.md: counts all the lines" \
    grep -q "^| all | .* | $(cat share/corpus.txt share/heldout.txt | wc -l) |\$" share/SOURCES.md
same_versions=yes
while IFS='|' read -r _ _ pkg version _; do
    case $pkg in " "*" ") ;; *) continue ;; esac
    pkg=${pkg# }; pkg=${pkg% }; version=${version# }; version=${version% }
    [ -n "$pkg" ] && [ "$pkg" != package ] && [ "$pkg" != --- ] || continue
    [ "$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null)" = "$version" ] || same_versions=no
done <share/SOURCES.md
if [ $same_versions = yes ]; then
    build "$tmp/s"
    check "share/ rebuilt byte for byte from the packages it names" \
        sh -c "cmp -s '$tmp/s/corpus.txt' share/corpus.txt && cmp -s '$tmp/s/heldout.txt' share/heldout.txt &&
               cmp -s '$tmp/s/SOURCES.md' share/SOURCES.md"
else
    echo "ok - share/ rebuilt byte for byte: skipped, the packages of share/SOURCES.md are not all installed at its versions"
fi
