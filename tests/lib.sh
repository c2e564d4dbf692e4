# tests/lib.sh: what the shell tests share. Sourced after `cd` to the
# repository root, with $tmp set to the test's scratch directory.
check() { # check NAME COND...
    name=$1
    shift
    if "$@"; then echo "ok - $name"; else echo "not ok - $name"; fi
}
run() { # run EXPECTED_STATUS ARGS...: ./sdlm $sdlm_cmd ARGS, stdout to $tmp/out, stderr to $tmp/err
    want=$1
    shift
    ./sdlm $sdlm_cmd "$@" >"$tmp/out" 2>"$tmp/err"
    [ $? -eq "$want" ]
}
lines() { [ "$(wc -l <"$1")" -eq "$2" ]; }
