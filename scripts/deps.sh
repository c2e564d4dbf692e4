#!/bin/sh
# deps.sh PACKAGE...: installs the Debian packages given that are not
# installed yet (`make deps` passes the build's list). As root it runs
# apt-get; with password-less sudo, sudo apt-get; otherwise it prints the one
# apt-get line to run and exits 1. Without dpkg (not Debian) it checks the
# libraries with pkg-config instead ($SDLM_PC, from the Makefile) and names
# what is missing.
if ! command -v dpkg-query >/dev/null 2>&1; then
    pc=${SDLM_PC:-openblas sentencepiece sqlite3 ncursesw jansson}
    missing=""
    for l in $pc; do pkg-config --exists "$l" 2>/dev/null || missing="$missing $l"; done
    [ -z "$missing" ] && exit 0
    echo "sdlm needs the development files of:$missing (pkg-config cannot find them)" >&2
    exit 1
fi
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "sdlm: installing the missing Debian packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
else
    echo "sdlm needs these Debian packages; run:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi
