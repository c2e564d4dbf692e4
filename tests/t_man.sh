#!/bin/sh
# t_man.sh: man/sdlm.1 is lint-clean (mandoc -T lint -W warning) and complete:
# every command of `sdlm --help`, every flag of every `sdlm CMD --help` (and
# of the editor's usage line), and every key of `sdlm keys` appears in the
# rendered page. Without mandoc the whole test is skipped with a note.
cd "$(dirname "$0")/.." || exit 2
SDLM=./sdlm
page=man/sdlm.1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP # so the EXIT trap cleans up
if [ ! -f $page ]; then
    echo "not ok - $page exists"
    exit 1
fi
if ! command -v mandoc >/dev/null 2>&1; then
    echo "ok - man page checks skipped: mandoc is not installed (apt-get install mandoc)"
    exit 0
fi
if mandoc -T lint -W warning $page >"$tmp/lint" 2>&1; then
    echo "ok - mandoc -T lint -W warning $page is clean"
else
    echo "not ok - mandoc -T lint -W warning $page: $(head -5 "$tmp/lint")"
fi
# The page as a reader sees it, without overstrikes.
mandoc -T ascii $page | sed 's/.\x08//g' >"$tmp/page"
has() { # has WORD: WORD appears in the page, not as part of a longer flag or word
    grep -Fq -- "$1" "$tmp/page" || return 1
    awk -v w="$1" 'BEGIN { n = length(w) }
        { s = $0; while ((i = index(s, w)) > 0) {
            before = i > 1 ? substr(s, i - 1, 1) : " "; after = substr(s, i + n, 1)
            if (before !~ /[-A-Za-z0-9_]/ && after !~ /[-A-Za-z0-9_]/) { found = 1; exit }
            s = substr(s, i + 1) } }
        END { exit !found }' "$tmp/page"
}
# check_all WHAT FILE: every line of FILE is in the page; one ok line, or one
# not ok line naming what is missing.
check_all() {
    what=$1 list=$2
    n=$(wc -l <"$list")
    missing=$(while IFS= read -r w; do has "$w" || printf '%s ' "$w"; done <"$list")
    if [ -n "$missing" ]; then echo "not ok - man page lacks these $what: $missing"
    else echo "ok - all $n $what are in the man page"; fi
}

$SDLM --help >"$tmp/help" 2>&1 || echo "not ok - sdlm --help exits non-zero"
awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$tmp/help" >"$tmp/cmds"
[ -s "$tmp/cmds" ] || echo "not ok - no commands found in sdlm --help"
check_all commands "$tmp/cmds"

# Flags: the option lines of each command's --help ("  -d, --data FILE  help",
# "  -d,--data_path FILE  help", "  --every N  help"), and the editor's usage.
: >"$tmp/flags"
while read -r c; do
    $SDLM "$c" --help >"$tmp/chelp" 2>&1 || echo "not ok - sdlm $c --help exits non-zero"
    awk '/^ +-/ { sub(/^ +/, ""); split($0, f, /  +/); n = split(f[1], w, /[ ,|]+/)
                  for (i = 1; i <= n; i++) if (w[i] ~ /^-/) print w[i] }' "$tmp/chelp" >>"$tmp/flags"
done <"$tmp/cmds"
head -1 "$tmp/help" | grep -o '\[-[-a-z_]*' | tr -d '[' >>"$tmp/flags"
sort -u "$tmp/flags" -o "$tmp/flags"
check_all flags "$tmp/flags"

# Keys: every key of the keymap table (sdlm keys: GROUP<TAB>KEY<TAB>DESCRIPTION).
if $SDLM keys >"$tmp/keys" 2>/dev/null && [ -s "$tmp/keys" ]; then
    cut -f2 "$tmp/keys" | sort -u >"$tmp/keynames"
    check_all keys "$tmp/keynames"
    # and each group of keys has its own subsection
    cut -f1 "$tmp/keys" | sort -u >"$tmp/groups"
    check_all "key groups" "$tmp/groups"
else
    echo "ok - key checks skipped: this sdlm has no keys command yet"
fi
for s in FILES ENVIRONMENT "EXIT STATUS" EXAMPLES KEYS; do
    grep -q "^$s" "$tmp/page" && echo "ok - section $s" || echo "not ok - the man page has no $s section"
done
for v in NO_COLOR OPENBLAS_NUM_THREADS XDG_DATA_HOME sdlm.db; do
    has "$v" && echo "ok - the man page explains $v" || echo "not ok - the man page does not mention $v"
done
