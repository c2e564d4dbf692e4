#!/bin/sh
# check-layers.sh: the layering rules of the folders, checked by grepping
# includes and calls (`make check-layers`, run by CI). Prints one line per
# violation with file:line and exits 1 if there is any.
#
#   src/    the engine: no curses, no threads of its own but par.c's pool for
#           the elementwise kernels (BLAS has some), nothing from train/, ui/
#           or cli/
#   train/  data, training loop, session: no curses, nothing from ui/ or cli/
#   ui/     curses and nothing numeric: no BLAS, no engine kernels (ops.h)
#   cli/    may use every layer
cd "$(dirname "$0")/.." || exit 2
bad=0
# forbid DIRS WHAT REGEX [EXCEPT]: report every line of DIRS' C sources
# (but the file EXCEPT) matching REGEX.
forbid() {
    dirs=$1 what=$2 re=$3 except=${4:-}
    files=$(for d in $dirs; do ls "$d"/*.c "$d"/*.h "$d"/*.cc 2>/dev/null; done | grep -vxF "${except:-/}")
    [ -n "$files" ] || return 0
    hits=$(grep -nE "$re" $files /dev/null)
    if [ -n "$hits" ]; then
        echo "$hits" | while IFS= read -r h; do printf '%s   <- %s\n' "$h" "$what"; done
        bad=1
    fi
}
inc='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]'
headers_of() { ls "$1"/*.h 2>/dev/null | sed 's|.*/||' | sed 's/\./\\./g' | paste -sd'|' -; }

forbid "src train" "curses belongs to ui/" "$inc(n?curses(w)?/)?(n?curses|term|panel|menu|form)\.h"
forbid "ui" "BLAS belongs to src/" "$inc(cblas|openblas[^>\"]*|lapacke?|f77blas)\.h|cblas_[a-z]+[[:space:]]*\("
forbid "ui" "engine kernels belong to src/" "${inc}ops\.h[\">]"
forbid "src" "the engine starts no threads (but par.c's pool)" "$inc(pthread|threads)\.h|pthread_create|thrd_create|[^_a-z]fork[[:space:]]*\(" src/par.c
for layer in train ui cli; do
    h=$(headers_of $layer)
    [ -n "$h" ] && forbid "src" "src/ must not use $layer/" "$inc($h)[\">]"
done
for layer in ui cli; do
    h=$(headers_of $layer)
    [ -n "$h" ] && forbid "train" "train/ must not use $layer/" "$inc($h)[\">]"
done
if [ $bad -eq 0 ]; then
    echo "layers ok: src/ (no curses, no threads but par.c's, no upper layers), train/ (no curses, no ui/ or cli/), ui/ (no BLAS)"
fi
exit $bad
