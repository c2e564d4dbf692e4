#!/bin/sh
# check-layers.sh: the layering rules of the folders, checked by grepping
# includes and calls (`make check-layers`, run by CI). Prints one line per
# violation with file:line and exits 1 if there is any.
#
# Each layer uses only those above it in this list:
#   src/      the engine: no curses, no threads of its own but par.c's pool for
#             the elementwise kernels (BLAS has some)
#   data/     text and records: corpus, tokenizer, templates, the trigram, the
#             history store, trajectories, paths
#   train/    the trainer, its batches and settings, checkpoints as models
#   session/  work with a trained model: the editor's session, scoring, eval
#   ui/       curses and nothing numeric: no BLAS, no engine kernels (ops.h)
#   cli/      may use every layer
# No curses below ui/.
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

forbid "src data train session" "curses belongs to ui/" "$inc(n?curses(w)?/)?(n?curses|term|panel|menu|form)\.h"
forbid "ui" "BLAS belongs to src/" "$inc(cblas|openblas[^>\"]*|lapacke?|f77blas)\.h|cblas_[a-z]+[[:space:]]*\("
forbid "ui" "engine kernels belong to src/" "${inc}ops\.h[\">]"
forbid "src" "the engine starts no threads (but par.c's pool)" "$inc(pthread|threads)\.h|pthread_create|thrd_create|[^_a-z]fork[[:space:]]*\(" src/par.c
# uses_none LAYER UPPER...: LAYER includes no header of the UPPER layers
uses_none() {
    layer=$1
    shift
    for upper in "$@"; do
        h=$(headers_of "$upper")
        [ -n "$h" ] && forbid "$layer" "$layer/ must not use $upper/" "$inc($h)[\">]"
    done
}
uses_none src data train session ui cli
uses_none data train session ui cli
uses_none train session ui cli
uses_none session ui cli
if [ $bad -eq 0 ]; then
    echo "layers ok: src/ < data/ < train/ < session/ < ui/, cli/; no curses below ui/, no BLAS in ui/, no threads in src/ but par.c's"
fi
exit $bad
