#!/bin/sh
# sdlm parity against every committed fixture (tests/fixtures/parity-*.safetensors)
# and the seed's own fixture when ../shared is present; plus its bad inputs.
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in tests/fixtures/parity-*.safetensors ../shared/fixtures/seed-parity-l2.safetensors; do
    [ -f "$f" ] || { echo "ok - $f (skipped: absent)"; continue; }
    if ./sdlm parity "$f" >"$tmp/out" 2>&1; then
        echo "ok - sdlm parity $f ($(tail -1 "$tmp/out"))"
    else
        echo "not ok - sdlm parity $f:"; grep -E "FAIL|sdlm" "$tmp/out" | head -20
    fi
done
# --dump writes got.<name> for every expect.<name>
f=../shared/fixtures/seed-parity-l2.safetensors
[ -f "$f" ] || f=$(ls tests/fixtures/parity-*.safetensors 2>/dev/null | head -1)
if [ -n "$f" ] && [ -f "$f" ]; then
    ./sdlm parity "$f" --dump "$tmp/got.safetensors" >/dev/null 2>&1
    n=$(./sdlm parity "$f" | grep -c -E " ok | FAIL ")
    if [ -s "$tmp/got.safetensors" ] && [ "$(head -c 200000 "$tmp/got.safetensors" | grep -a -o '"got\.[^"]*"' | wc -l)" -eq "$n" ]; then
        echo "ok - --dump writes one got.* tensor per expectation ($n)"
    else
        echo "not ok - --dump output missing or incomplete"
    fi
fi
# bad input: one line, non-zero exit
expect_fail() { # name, expected exit, command...
    name=$1 want=$2; shift 2
    "$@" >"$tmp/o" 2>"$tmp/e"; rc=$?
    if [ $rc -eq "$want" ] && [ "$(wc -l <"$tmp/e")" -eq 1 ]; then echo "ok - $name: $(cat "$tmp/e")"
    else echo "not ok - $name: exit $rc, stderr: $(head -3 "$tmp/e")"; fi
}
expect_fail "missing fixture" 2 ./sdlm parity "$tmp/nope.safetensors"
head -c 1000 /dev/urandom >"$tmp/random.safetensors"
expect_fail "random bytes" 2 ./sdlm parity "$tmp/random.safetensors"
if [ -n "$f" ] && [ -f "$f" ]; then
    head -c 100000 "$f" >"$tmp/trunc.safetensors"
    expect_fail "truncated fixture" 2 ./sdlm parity "$tmp/trunc.safetensors"
fi
expect_fail "no arguments" 2 ./sdlm parity
