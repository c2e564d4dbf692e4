#!/bin/sh
# t_install.sh: `make install PREFIX=... DESTDIR=...` puts the binary, the
# share/ data and the man page where they belong, the installed sdlm works
# from anywhere without the source tree (it finds its data in ../share/sdlm,
# also after the whole prefix is moved), every command answers --help with
# exit 0, and `make uninstall` removes exactly what was installed.
# The binary is not rebuilt (make -o sdlm): this installs the ./sdlm under test.
cd "$(dirname "$0")/.." || exit 2
src=$(pwd)
tmp=$(mktemp -d)
sock="sdlm-install-$$"
trap 'tmux -L "$sock" kill-server >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP # so the EXIT trap cleans up
. tests/lib.sh
dest="$tmp/dest"
prefix=/opt/sdlm-test
root="$dest$prefix"

if ! make -s -o sdlm install DESTDIR="$dest" PREFIX=$prefix >"$tmp/log" 2>&1; then
    echo "not ok - make install: $(tail -3 "$tmp/log")"
    exit 1
fi
echo "ok - make install DESTDIR=... PREFIX=$prefix"
check "binary installed, executable" test -x "$root/bin/sdlm"
check "man page installed" test -s "$root/share/man/man1/sdlm.1"
n=0
for f in share/*; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    cmp -s "$f" "$root/share/sdlm/${f#share/}" || echo "not ok - share file ${f#share/} installed as it is"
done
echo "ok - $n share file(s) installed in $prefix/share/sdlm"

# Run it from elsewhere, with the source tree out of reach of its lookups.
bin="$root/bin/sdlm"
cd "$tmp" || exit 2
export XDG_DATA_HOME="$tmp/xdg" SDLM_SHARE=
v=$("$bin" --version 2>&1)
check "installed sdlm --version: $v" sh -c "echo '$v' | grep -Eq '^sdlm [0-9]+\.[0-9]+'"
"$bin" --help >"$tmp/help" 2>&1
check "installed sdlm --help exits 0" test $? -eq 0
bad=
for c in $(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }' "$tmp/help"); do
    "$bin" "$c" --help >"$tmp/ch" 2>&1 && grep -q "usage" "$tmp/ch" || bad="$bad $c"
done
check "installed sdlm COMMAND --help exits 0 with a usage for every command${bad:+ (not:$bad)}" test -z "$bad"
"$bin" frobnicate >/dev/null 2>&1
check "installed sdlm: an unknown command exits 2" test $? -eq 2

model="$root/share/sdlm/sdlm-default.safetensors"
if [ -f "$src/share/sdlm-default.safetensors" ]; then
    what="the shipped model"
    if out=$("$bin" infill -ckpt "$model" --steps 20 --seed 1 --no-save "The {3} sat on the {2}." 2>"$tmp/err"); then
        echo "ok - installed sdlm infills with the installed model: $out"
    else
        echo "not ok - installed sdlm infill: $(head -2 "$tmp/err")"
    fi
else
    # No shipped model yet: put a tiny one where it would be, to test the lookup.
    what="a tiny stand-in for the shipped model"
    echo "ok - infill on the shipped model: skipped, share/sdlm-default.safetensors is not built yet"
    "$bin" tokenizer -d "$src/tests/data/tiny-corpus.txt" -o "$tmp/tok" --vocab 400 >/dev/null 2>&1
    "$bin" train -d "$src/tests/data/tiny-corpus.txt" -spm "$tmp/tok.model" -ckpt "$model" -edim 8 -mdim 16 -numl 1 \
        -b 8 -cl 16 --steps 2 -ngen 0 --db "" >/dev/null 2>&1 || echo "not ok - a stand-in model in the installed share"
fi
# The editor finds the model by itself, also once the whole prefix is moved.
mv "$root" "$tmp/moved"
bin="$tmp/moved/bin/sdlm"
if ! command -v tmux >/dev/null 2>&1; then
    echo "ok - editor from a moved install: skipped, tmux is not installed"
elif [ -f "$tmp/moved/share/sdlm/sdlm-default.safetensors" ]; then
    tmux -L "$sock" new-session -d -x 100 -y 30 "cd / && XDG_DATA_HOME='$tmp/xdg2' SDLM_SHARE= '$bin'; sleep 5"
    i=0
    screen=
    while [ $i -lt 30 ]; do
        sleep 0.2
        screen=$(tmux -L "$sock" capture-pane -p)
        echo "$screen" | grep -q "F1" && break
        i=$((i + 1))
    done
    sleep 0.5
    screen=$(tmux -L "$sock" capture-pane -p)
    tmux -L "$sock" send-keys C-q
    if echo "$screen" | grep -q "no model"; then
        echo "not ok - the moved, installed editor finds no model: $(echo "$screen" | tail -2 | tr -s ' ')"
    elif echo "$screen" | grep -q "F1"; then
        echo "ok - the moved, installed editor opens on $what: $(echo "$screen" | grep '│' | tail -1 | tr -s ' ' | cut -c1-90)"
    else
        echo "not ok - the moved, installed editor did not draw: $(echo "$screen" | tr -s ' \n' ' ' | cut -c1-120)"
    fi
fi
mv "$tmp/moved" "$root"
[ -f "$src/share/sdlm-default.safetensors" ] || rm -f "$model"

cd "$src" || exit 2
if make -s -o sdlm uninstall DESTDIR="$dest" PREFIX=$prefix >"$tmp/log" 2>&1; then
    left=$(find "$dest" -type f | sed "s|^$dest||")
    check "make uninstall removes every installed file${left:+ (left: $left)}" test -z "$left"
else
    echo "not ok - make uninstall: $(tail -3 "$tmp/log")"
fi
