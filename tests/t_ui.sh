#!/bin/sh
# The editor from the outside, in a real terminal: tmux on a private socket
# types into ./sdlm and reads the screen back. A tiny model is trained first
# (seconds). Covers: typing, a span, an infill filling it, the history and
# its search, help, settings, resize during a run, the too-small screen,
# NO_COLOR, training started and stopped from the UI (with its t curve
# filling in), candidates ranked by the model's score and shown with it, a
# bad TERM, signals and quitting with the terminal restored.
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d)
sock=sdlm-test-$$
T="tmux -L $sock -f /dev/null"
cleanup() {
    $T kill-server 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
check() { # check NAME COND...
    name=$1
    shift
    if "$@"; then echo "ok - $name"; else echo "not ok - $name"; fi
    [ -n "$SDLM_UI_TIMES" ] && date +"# %T.%N $name"
    return 0
}
if ! command -v tmux >/dev/null; then
    echo "not ok - tmux is needed for the editor tests (apt-get install tmux)"
    exit 1
fi
export XDG_DATA_HOME="$tmp/xdg"
mkdir -p "$XDG_DATA_HOME"
unset NO_COLOR
sdlm=${SDLM_UI_BINARY:-./sdlm} # the editor binary under test (e.g. a sanitizer build)

./sdlm tokenizer -d tests/data/tiny-corpus.txt -o "$tmp/tok" --vocab 400 >/dev/null 2>&1
./sdlm train -d tests/data/tiny-corpus.txt -spm "$tmp/tok.model" -ckpt "$tmp/m.safetensors" --family continuous -edim 16 -mdim 64 \
    -numl 2 -b 8 --steps 30 --db "$tmp/train.db" >/dev/null 2>&1
check "a tiny test model" test -s "$tmp/m.safetensors"

# poll GREP_FLAG PATTERN SECONDS LABEL: polls the screen until grep GREP_FLAG finds PATTERN
poll() {
    i=0
    n=$(($3 * 20))
    while [ $i -lt $n ]; do
        $T capture-pane -p -t ui >"$tmp/screen" 2>/dev/null
        grep -q"$1" -- "$2" "$tmp/screen" && return 0
        sleep 0.05
        i=$((i + 1))
    done
    echo "# screen while waiting for $4:"
    sed 's/^/#   /' "$tmp/screen"
    return 1
}
wait_for() { poll F "$1" "${2:-10}" "\"$1\""; } # wait_for TEXT [SECONDS]: until the screen shows TEXT
wait_re() { poll E "$1" "${2:-10}" "/$1/"; }     # wait_re REGEX [SECONDS]: until a line matches REGEX
# prompt_back: the last line on screen is the shell's prompt again
prompt_back() {
    i=0
    while [ $i -lt 200 ]; do
        $T capture-pane -p -t ui | grep . | tail -n 1 >"$tmp/last"
        [ "$(cat "$tmp/last")" = 'prompt$' ] && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}
gone() { ! grep -qF -- "$1" "$tmp/screen"; }
keys() { $T send-keys -t ui "$@"; }
# a shell in a 100x30 terminal; sdlm is started from it, so quitting shows its prompt again
$T new-session -d -s ui -x 100 -y 30 "env PS1='prompt$ ' sh"
run_sdlm() { # run_sdlm ENV...: starts the editor on the test model; EXIT=status when it ends
    keys -l "env $* $sdlm -ckpt $tmp/m.safetensors --db $tmp/db.sqlite; echo EXIT=\$?"
    keys Enter
}

run_sdlm
check "the editor opens" wait_for "F1 Help"
check "the status bar names the model file" wait_for "m.safetensors │"
keys -l "The cat sat on the mat."
check "typed text shows" wait_for "The cat sat on the mat."
keys C-Left C-Left S-Right S-Right S-Right C-t
check "a selection becomes a span with its slot count" wait_for "The cat sat on [_"
keys End C-t
check "an empty span of 4 slots" wait_for "[____ 4]"
keys C-r
check "the infill runs to its end" wait_for "✓ filled" 20
check "the spans' placeholders are replaced by text" gone "[____ 4]"
check "the status bar says it was saved" grep -q "saved in the history" "$tmp/screen"
check "the progress line shows the model's score of the fill" grep -Eq "candidate 1/1 · score [0-9]+\.[0-9]+ nats/token" "$tmp/screen"
cp "$tmp/screen" "$tmp/editor-filled.txt"
line3() { sed -n 3p "$tmp/screen"; }

# the scrubber, accepting, undo, span sizes
keys M-,
check "Alt-, steps the trajectory back (steps counted as the settings do)" wait_for "trajectory step 199/200"
keys M-\<
check "Alt-< goes to its first step (pure noise: step 0)" wait_for "trajectory step 0/200"
keys Escape
check "Esc leaves the scrubber" wait_for "✓ filled"
keys C-y
check "Ctrl-Y accepts the fill into the text" wait_for "accepted candidate 1"
check "accepted: no span brackets left" sh -c "! sed -n 3p '$tmp/screen' | grep -q '\['"
keys C-z
check "Ctrl-Z brings the spans back, filled" wait_for "✓ filled"
keys End C-t M-=
check "Alt-= grows the span at the cursor" wait_for "[_____ 5]"
keys M-- M-- F7
check "Alt-- and F7 shrink it" wait_for "[__ 2]"
keys C-d
check "Ctrl-D removes it (and the others' fill shows again)" wait_for "✓ filled"
check "the removed span is gone" gone "[__ 2]"
samples() { ./sdlm samples --db "$tmp/db.sqlite" 2>/dev/null | grep -c " infill "; }
wait_samples() { # wait_samples N: until the history holds N samples
    i=0
    while [ $i -lt 100 ]; do
        [ "$(samples)" -eq "$1" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
check "a run of 200 steps shows 200/200" grep -q "✓ filled 200/200" "$tmp/editor-filled.txt"
check "the history holds the first fill" wait_samples 1
keys C-g
check "Ctrl-G re-rolls the span at the cursor (saved as a new sample)" wait_samples 2

# settings: 10000 steps and 8 candidates, so a run lasts long enough to resize during it
keys F6
check "F6 opens the settings" wait_for "Infill settings"
keys Down 1 0 0 0 0 Down Down 8
check "settings take typed numbers" wait_for "‹ 10000"
keys Enter
check "closing the settings names them" wait_for "10000 steps"
keys C-r
check "a long run shows its progress line" wait_for "▶ step" 10
# (the trigram is fitted when the run starts: until then the line has no fusion yet)
progress_ok() { wait_re "t=[0-9.]+  difflm  \+ trigram 1" 20 >/dev/null || { grep "step" "$tmp/screen" | sed 's/^/# /'; false; }; }
check "the progress line: t, the sampler fitted to the model, fusion" progress_ok
$T resize-window -t ui -x 70 -y 20
check "resized during the run: the screen draws at the new size" wait_for "F1 Help"
$T resize-window -t ui -x 40 -y 10
check "below the minimum: the too-small screen" wait_for "terminal too small"
$T resize-window -t ui -x 100 -y 30
check "back to full size: the editor again" wait_for "F1 Help"
keys Escape
check "Esc stops the run at once" wait_for "stopped at step" 5
check "a stopped run's fill is marked partial" wait_for "partial"
keys C-y
check "Ctrl-Y refuses a half-denoised fill" wait_for "stopped half-way"
keys F6 Right Right Right Right Right Enter
check "settings: the unmask sampler (from reveal, the default)" wait_for "unmask, 10000 steps"
keys C-r
wait_for "▶ step" 10 >/dev/null
check "unmask shows no noise level t while it runs" sh -c "! grep '▶ step' '$tmp/screen' | grep -q 't='"
keys Escape
$T resize-window -t ui -x 90 -y 30
check "Esc just before a resize still stops the run" wait_for "stopped at step" 5
$T resize-window -t ui -x 100 -y 30
keys F6 Left Left Left Enter
wait_for "difflm, 10000 steps" >/dev/null
keys F6 Down 2 0 0 Enter
check "settings: back to 200 steps" wait_for "200 steps"
keys F6 Down Down Down Down Down Left Left Left Enter
conf_has() { # conf_has PATTERN: until ui.conf (written when the settings close) holds it, 5 s at most
    i=0
    while [ $i -lt 100 ]; do grep -q "$1" "$XDG_DATA_HOME/sdlm/ui.conf" 2>/dev/null && return 0; sleep 0.05; i=$((i + 1)); done
    return 1
}
check "settings: the fusion row sets lambda (saved on closing)" conf_has "^fuse = 0.3$"
keys C-r
check "a fused run says so on its progress line" wait_for "+ trigram 0.3" 15
keys Escape
check "the fused run stops" wait_for "stopped at step" 5
keys F6 Down Down Down Down Down Left Left Left Enter
check "settings: fusion back off" conf_has "^fuse = 0$"

# the history: the filled sample is there and can be searched and replayed
keys F3
check "F3 shows the history with the sample" wait_for "The cat sat on {"
check "the history names the model by its file, numbers candidates from 1, shows the filled spans" \
    grep -Eq "m\.safetensors +1  \[" "$tmp/screen"
keys / c a t Enter
check "the search filters by text" wait_for 'matching "cat"'
keys Enter
check "Enter replays a sample's trajectory" wait_for "step 200/200" 10
cp "$tmp/screen" "$tmp/history.txt"
keys e
check "e loads its template into the editor" wait_for "template loaded"

# help: every key, from the keymap
keys F1
check "F1 lists the keys" wait_for "editor: move"
keys PgDn PgDn
check "help scrolls to the infill keys" wait_for "trajectory: one step back"
keys q
check "q closes the help" wait_for "Ctrl-T span"
$T resize-window -t ui -x 80 -y 30
keys F1 PgUp PgUp PgUp PgUp
check "at 80 columns a long description wraps under itself, not cut mid-word" wait_re '^ {20,}checkpoints$'
keys q
$T resize-window -t ui -x 100 -y 30
wait_for "F9 models" >/dev/null # the hint line's last item: at 100 columns again

# training from the UI on the tiny corpus
keys F4
check "F4 opens the training screen" wait_for "Preset"
check "the t curve's plot is there, with no data before a run" sh -c "grep -q 'one-step accuracy by noise level t' '$tmp/screen' && ! grep -Eq '([0-9]+ +){9}[0-9]+ *\$' '$tmp/screen'"
keys Left Left
check "Left stops at the smallest preset" wait_for "tiny is the smallest preset"
check "the preset stays tiny" grep -q "‹ tiny ›" "$tmp/screen"
keys c C-u
keys -l "/dev/zero"
keys Enter
check "a device as the corpus is named for what it is" wait_for "/dev/zero  (not a regular file)"
keys c C-u
keys -l "$PWD/tests/data/tiny-corpus.txt"
keys Enter n
check "the step limit cycles" wait_for "step limit: 100"
keys s
check "s starts training" wait_for "running  step" 30
check "the t curve fills in as it trains: a value in % under each of the 10 buckets" wait_re '([0-9]+ +){9}[0-9]+ *$' 30
b='(▁|▂|▃|▄|▅|▆|▇|█)'
check "the t curve draws a bar (or its floor) for each of the 10 buckets" grep -Eq "($b{3} ){9}$b{3}" "$tmp/screen"
cp "$tmp/screen" "$tmp/training-curve.txt"
check "a masked run plots its cross-entropy once, and no empty mse" \
    sh -c "grep -q '^  ce [0-9]' '$tmp/screen' && ! grep -Eq '(^| )(mse|loss) [0-9]' '$tmp/screen'"
keys F2 F6 Down 5 0 Enter
wait_for "50 steps" >/dev/null
keys C-r
check "the editor infills while training runs" wait_for "✓ filled" 30
check "8 candidates: the one animated stays shown, with its rank" grep -Eq "the one you watched ranks [1-8] of 8" "$tmp/screen"
check "8 candidates: its score is on the progress line" grep -Eq "candidate [1-8]/8 · score [0-9]+\.[0-9]+ nats/token" "$tmp/screen"
keys C-n
check "Ctrl-N: the next candidate, with its score" wait_re "candidate [1-8] of 8 · score [0-9]+\.[0-9]+ nats/token"
keys F4
wait_for "Preset" >/dev/null
keys x
check "x stops training" wait_for "stopped" 30
wait_for "trained " 10 >/dev/null
check "a stopped run shows how long it trained and no ETA" gone "ETA"
check "the stopped run left a checkpoint" wait_for "checkpoint: "
cp "$tmp/screen" "$tmp/training.txt"
keys l
check "l hands the checkpoint to the editor, saying it is too young" wait_for "trained only"

# quitting: asks when the text is unsaved; the shell prompt comes back
keys F2
keys -l " more"
keys C-q
check "Ctrl-Q asks when the text is unsaved" wait_for "Quit? y/n"
keys y
check "quitting exits 0" wait_for "EXIT=0"
check "the prompt is back" prompt_back
check "the terminal left the alternate screen" test "$($T display -p -t ui '#{alternate_on}')" = 0
check "the settings are remembered in ui.conf" grep -q "^candidates = 8$" "$XDG_DATA_HOME/sdlm/ui.conf"

# NO_COLOR: attributes only, no colour escapes
keys -l "clear"
keys Enter
run_sdlm NO_COLOR=1
wait_for "F1 Help" >/dev/null
check "a new start uses the remembered settings" wait_for "8 candidates"
$T capture-pane -e -p -t ui >"$tmp/nocolor"
check "NO_COLOR: no colour codes on screen" sh -c "! grep -q \"$(printf '\033')\[[0-9;]*3[0-7]m\" '$tmp/nocolor'"
check "NO_COLOR: the bars still stand out (reverse video)" grep -q "$(printf '\033')\[7m" "$tmp/nocolor"
keys C-q
wait_for "EXIT=0" >/dev/null
run_sdlm
wait_for "F1 Help" >/dev/null
$T capture-pane -e -p -t ui >"$tmp/color"
check "with colours: colour codes on screen" grep -q "$(printf '\033')\[[0-9;]*3[0-7]m" "$tmp/color"
keys C-q
check "quit with nothing to lose: no question" wait_for "EXIT=0"

# a signal restores the terminal too
keys -l "clear; sh -c 'echo \$\$ > $tmp/pid; exec $sdlm -ckpt $tmp/m.safetensors --db $tmp/db.sqlite'; echo EXIT=\$?"
keys Enter
wait_for "F1 Help" >/dev/null
kill -TERM "$(cat "$tmp/pid")"
check "SIGTERM: the editor exits cleanly" wait_for "EXIT=0"
check "SIGTERM: the terminal is restored" test "$($T display -p -t ui '#{alternate_on}')" = 0

# a crash restores the terminal before the signal kills the process
keys -l "clear; SDLM_UI_TEST_CRASH=1 $sdlm -ckpt $tmp/m.safetensors --db $tmp/db.sqlite; echo EXIT=\$?"
keys Enter
check "SIGSEGV: the process dies of it (139)" wait_for "EXIT=139"
check "SIGSEGV: the terminal is restored" test "$($T display -p -t ui '#{alternate_on}')" = 0
check "SIGSEGV: the prompt is back" prompt_back

# a terminal curses cannot drive: one line, status 3
keys -l "clear; TERM=no-such-term $sdlm 2>$tmp/err; echo EXIT=\$?"
keys Enter
check "a bad TERM exits 3" wait_for "EXIT=3"
check "a bad TERM: one line on stderr" test "$(wc -l <"$tmp/err")" -eq 1
./sdlm </dev/null >/dev/null 2>"$tmp/err2"
check "no terminal: status 3 and one line" test $? -eq 3 -a "$(wc -l <"$tmp/err2")" -eq 1

./sdlm --frobnicate >/dev/null 2>"$tmp/err3"
check "an unknown flag: status 2 and one line" test $? -eq 2 -a "$(wc -l <"$tmp/err3")" -eq 1
./sdlm -ckpt >/dev/null 2>"$tmp/err3"
check "-ckpt without a value: status 2" test $? -eq 2
./sdlm -ckpt x --help >"$tmp/out3"
check "sdlm --help on the editor's flags: status 0" test $? -eq 0 -a -s "$tmp/out3"

# undo after a fill: one step per user action, back to what was on screen (issue 16, item 4)
keys -l "clear"
keys Enter
run_sdlm
wait_for "F1 Help" >/dev/null
keys -l "The dog"
keys C-t Left M-= M-= M--
check "undo: three resizes make a span of 5" wait_for "[_____ 5]"
keys C-r
check "undo: the span fills" wait_for "✓ filled" 20
keys C-g
wait_for "re-roll" >/dev/null
keys C-y
check "undo: accepted" wait_for "accepted candidate"
keys C-z
check "undo 1: the fill as it was on screen" wait_for "✓ filled"
check "undo 1: no empty slots shown" gone "[_____ 5]"
keys C-z
check "undo 2: the span before its resizes (one step for all three), with no fill" wait_for "[____ 4]"
check "undo 2: no fill shown on a text it was not made from" gone "✓ filled"
keys C-z
check "undo 3: the text before the span" wait_for "0 spans"
keys M-z M-z
check "redo twice: the fill again, on the text it was made from" wait_for "✓ filled"
keys F10
check "F10 quits (asks first: the text is unsaved)" wait_for "Quit? y/n"
keys y
wait_for "EXIT=0" >/dev/null

# a 50 KB paste without bracketed paste (tmux's paste-buffer without -p types it as keys; issue 14):
# exactly in the text, one undo step, and the text laid out once a frame, not once a key (that took 9 s)
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "line %d: the cat sat on the mat and looked at the dog.\n", i }' |
    head -c 50000 >"$tmp/paste.txt"
tail -n 25 "$tmp/paste.txt" | awk '{ sub(/ +$/, ""); print }' >"$tmp/paste-tail.txt" # as a screen shows it
keys -l "clear"
keys Enter
run_sdlm
wait_for "F1 Help" >/dev/null
$T load-buffer "$tmp/paste.txt"
$T paste-buffer -t ui
check "a 50 KB paste without bracketed paste shows its end" wait_for "$(tail -n 1 "$tmp/paste-tail.txt")" 60
pasted_tail() { sed -n 3,27p "$tmp/screen" | sed 's/^ //' | diff - "$tmp/paste-tail.txt" >"$tmp/diff" || { sed 's/^/# /' "$tmp/diff"; false; }; }
check "the paste's last 25 lines are on screen as they were sent" pasted_tail
keys C-z
check "one undo removes the whole paste" wait_for "Type a sentence"
keys C-q
wait_for "EXIT=0" >/dev/null
frames() { sed -n 's/^\([0-9]*\) redraws, \([0-9]*\) layouts of the text.*/\1 \2/p' "$XDG_DATA_HOME/sdlm/ui.log"; }
once_a_frame() { set -- $(frames) && [ -n "$2" ] && [ "$2" -le $(($1 + 10)) ] || { echo "# redraws, layouts: $*"; false; }; }
check "the paste laid the text out once a frame, not once a key" once_a_frame

# the default model and the model picker (issue 16, item 1): no -ckpt
x2="$tmp/xdg2"
mkdir -p "$x2/sdlm/models"
cp "$tmp/m.safetensors" "$x2/sdlm/models/picked.safetensors"
XDG_DATA_HOME="$x2" ./sdlm eval -d tests/data/tiny-corpus.txt -ckpt "$x2/sdlm/models/picked.safetensors" --lines 10 \
    --steps 5 >/dev/null 2>&1
start_plain() {
    keys -l "clear; env XDG_DATA_HOME=$x2 $sdlm; echo EXIT=\$?"
    keys Enter
}
start_plain
check "no -ckpt and no choice: the shipped model, named on the status line" wait_for "sdlm-default.safetensors │"
keys F9
check "F9 opens the model picker" wait_for "HELD-OUT ACCURACY"
check "the picker lists the shipped model" grep -Eq "sdlm-default.safetensors +[0-9.]+M +[0-9]+k +sdlm, masked" "$tmp/screen"
check "the picker lists the checkpoint in the data folder with its eval figure" \
    grep -Eq "picked.safetensors +0.2M +30 .*[0-9.]+% \(1 tok [0-9]+%\)" "$tmp/screen"
keys Down Enter
check "Enter switches the editor to it and warns it is young" wait_for "trained only 30 steps"
check "the status line names the new model" sh -c "tail -n 1 '$tmp/screen' | grep -q '^ picked.safetensors '"
keys F10
check "F10 quits (nothing to lose: no question)" wait_for "EXIT=0"
start_plain
check "a fresh start opens the chosen model" wait_for "picked.safetensors │"
keys F4
wait_for "Preset" >/dev/null
keys c C-u
keys -l "$PWD/tests/data/tiny-corpus.txt"
keys Enter s
check "picker: training starts" wait_for "running  step" 30
keys x
check "picker: training stops" wait_for "trained " 30
keys F10
wait_for "EXIT=0" >/dev/null
start_plain
check "training without choosing leaves the choice alone" wait_for "picked.safetensors │"
keys F10
wait_for "EXIT=0" >/dev/null
XDG_DATA_HOME="$x2" ./sdlm infill "the {2} of the world" >"$tmp/inf" 2>"$tmp/inf-err"
check "sdlm infill with no -ckpt uses the editor's model and says so" \
    sh -c "test -s '$tmp/inf' && grep -q 'using .*picked.safetensors (chosen in the model picker' '$tmp/inf-err'"
mv "$x2/sdlm/models/picked.safetensors" "$tmp/picked-away.safetensors"
start_plain
check "the chosen model gone: the editor says so" wait_for "the model you chose is gone"
check "and opens the shipped model" grep -q "sdlm-default.safetensors │" "$tmp/screen"
keys F10
wait_for "EXIT=0" >/dev/null
XDG_DATA_HOME="$x2" ./sdlm infill "the {2} of the world" >"$tmp/inf" 2>"$tmp/inf-err"
check "and sdlm infill says so too" grep -q "the one chosen in the model picker is gone" "$tmp/inf-err"
mv "$tmp/picked-away.safetensors" "$x2/sdlm/models/picked.safetensors"

# a masked model: its hidden slots are drawn as placeholders until revealed, and a run is as many
# steps as the gap has slots
./sdlm train -d tests/data/tiny-corpus.txt -spm "$tmp/tok.model" -ckpt "$tmp/mk.safetensors" --family masked \
    -edim 16 -mdim 64 -numl 2 -b 8 --steps 30 --db= >/dev/null 2>&1
keys -l "clear; env XDG_DATA_HOME=$x2 $sdlm -ckpt $tmp/mk.safetensors; echo EXIT=\$?"
keys Enter
check "masked: the editor opens the masked model" wait_for "mk.safetensors │"
keys -l "the cat sat on "
keys C-t
check "masked: an empty span of 4 slots" wait_for "[____ 4]"
keys C-r
check "masked: the fill takes 4 steps, one a slot" wait_for "✓ filled 4/4" 20
keys M-'<'
check "masked: its first step shows the slots not yet revealed" wait_for "·"
keys F10
wait_for "EXIT=0" >/dev/null

# sdlm keys: the keymap as GROUP<TAB>KEY<TAB>DESCRIPTION
./sdlm keys >"$tmp/keys"
check "sdlm keys prints the table" test "$(wc -l <"$tmp/keys")" -gt 50
check "sdlm keys: three tab-separated fields a line" sh -c "! awk -F'\t' 'NF != 3' '$tmp/keys' | grep -q ."
check "sdlm keys: the infill key" grep -q "$(printf 'editor: infill\tCtrl-R\t')" "$tmp/keys"

if [ -n "$SDLM_UI_CAPTURES" ]; then cp "$tmp"/editor-filled.txt "$tmp"/history.txt "$tmp"/training.txt "$tmp"/training-curve.txt "$SDLM_UI_CAPTURES"/; fi
exit 0
