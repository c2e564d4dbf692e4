#!/bin/sh
# t_faults.sh: sudden death and hostile storage lose nothing.
#
#   kill -9     a real `sdlm train` killed at random moments (KILLS times, 24
#               by default): after each, the checkpoint loads (sdlm sample),
#               the database passes PRAGMA integrity_check, its newest
#               checkpoint row is not newer than the file, and it has metrics
#               rows up to that row's step; the next run resumes from the file.
#   full disk   a save onto a full file system (a small tmpfs when mount works,
#               else ulimit -f) fails, says so, and leaves the previous
#               checkpoint byte for byte, with no temp file left behind.
#   read-only   a database sdlm cannot write, and one another process holds
#               locked: reported in one line; infill still prints its result;
#               the editor fills a span, shows why it was not saved, quits.
#   two at once two trainings and infills on one database at the same time: it
#               stays intact and holds both runs.
# FAULTS_SEED picks the kill moments (printed, so a failure can be replayed).
cd "$(dirname "$0")/.." || exit 2
SDLM=./sdlm
tmp=$(mktemp -d)
mnt=
sock="sdlm-faults-$$"
pid=
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    tmux -L "$sock" kill-server >/dev/null 2>&1
    [ -n "$mnt" ] && umount "$mnt" 2>/dev/null
    [ -n "${lockpid:-}" ] && kill "$lockpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP # so the EXIT trap cleans up
export XDG_DATA_HOME="$tmp/xdg" TZ=UTC
corpus=tests/data/tiny-corpus.txt
KILLS=${KILLS:-24}
seed=${FAULTS_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "# kill moments from FAULTS_SEED=$seed"

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
crashed() { [ "$1" -ge 126 ] && [ "$1" -ne 137 ] || grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$2"; }
q() { sqlite3 -batch "$db" "$1" 2>&1; }
tiny="--family continuous -edim 8 -mdim 16 -numl 1 -b 8 -cl 16 -ngen 0 --log-every 1" # the slower family: the faults land between saves
# editor_run DB KEYS WAIT PATTERN: the editor (on the tiny model $m) in tmux on
# database DB; sends KEYS (tmux send-keys words), then waits up to WAIT s for
# PATTERN on the screen; quits with Ctrl-Q (y if asked). Sets $screen, $erc.
editor_run() {
    rm -f "$tmp/erc"
    tmux -L "$sock" new-session -d -x 120 -y 30 \
        "XDG_DATA_HOME='$tmp/xdg' $SDLM -ckpt '$m' --db '$1' 2>'$tmp/eerr'; echo \$? >'$tmp/erc'; sleep 30"
    i=0
    while [ $i -lt 40 ] && ! tmux -L "$sock" capture-pane -p 2>/dev/null | grep -q F1; do sleep 0.1; i=$((i + 1)); done
    [ -n "$2" ] && tmux -L "$sock" send-keys $2
    i=0
    while [ $i -lt $(($3 * 5)) ]; do
        screen=$(tmux -L "$sock" capture-pane -p 2>/dev/null)
        echo "$screen" | grep -qi "$4" && break
        sleep 0.2
        i=$((i + 1))
    done
    tmux -L "$sock" send-keys C-q
    sleep 0.3
    [ -s "$tmp/erc" ] || tmux -L "$sock" send-keys y
    i=0
    while [ ! -s "$tmp/erc" ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
    erc=$(cat "$tmp/erc" 2>/dev/null)
    tmux -L "$sock" kill-server >/dev/null 2>&1
}

if ! command -v sqlite3 >/dev/null 2>&1; then
    ok "faults: skipped, sqlite3 (the CLI) is not installed"
    exit 0
fi
if ! $SDLM tokenizer -d $corpus -o "$tmp/tok" --vocab 400 >/dev/null 2>"$tmp/err"; then
    notok "a tokenizer for the tiny model: $(cat "$tmp/err")"
    exit 1
fi

# ---- kill -9 at random moments ------------------------------------------------
ck="$tmp/k.safetensors"
db="$tmp/k.db"
ckpt_step() { # the step in the checkpoint's metadata
    head -c 4096 "$ck" | tr -c '[:print:]' ' ' | sed -n 's/.*"step":"\([0-9]*\)".*/\1/p'
}
bad=0 loaded=0 resumed=0 prev=0
i=1
while [ $i -le "$KILLS" ]; do
    # 0.15 .. 0.85 s: from loading (before any save) to mid-training and saving
    delay=$(awk -v s="$seed" -v i="$i" 'BEGIN { srand(s * 1000 + i); printf "%.2f", 0.15 + rand() * 0.7 }')
    # sdlm itself in the background (not a shell function), so $! is its pid
    $SDLM train -d $corpus -spm "$tmp/tok.model" -ckpt "$ck" $tiny --save-every 3 --db "$db" >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    sleep "$delay"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    rc=$?
    pid=
    if [ $rc -ne 137 ] && [ $rc -ne 0 ]; then
        notok "kill $i: train exited $rc before the kill: $(tail -2 "$tmp/err")"
        bad=1
    fi
    if [ -f "$ck" ]; then
        s=$(ckpt_step)
        if ! $SDLM sample -ckpt "$ck" --steps 2 --seed 1 --no-save >/dev/null 2>"$tmp/serr"; then
            notok "kill $i after ${delay}s: the checkpoint does not load: $(cat "$tmp/serr")"
            bad=1
        else
            loaded=$((loaded + 1))
        fi
        [ -n "$s" ] && [ "$s" -ge "$prev" ] || { notok "kill $i: checkpoint step went back from $prev to '$s'"; bad=1; }
        [ -n "$s" ] && [ "$s" -gt "$prev" ] && [ "$prev" -gt 0 ] && resumed=$((resumed + 1))
        prev=${s:-0}
    fi
    if [ -f "$db" ]; then
        ic=$(q "PRAGMA integrity_check")
        [ "$ic" = ok ] || { notok "kill $i: integrity_check says: $ic"; bad=1; }
        cstep=$(q "SELECT coalesce(max(step), 0) FROM checkpoints")
        mstep=$(q "SELECT coalesce(max(step), 0) FROM metrics")
        if [ -f "$ck" ] && [ "$cstep" -gt "${s:-0}" ]; then
            notok "kill $i: the database records a checkpoint at step $cstep, the file is at ${s:-?}"
            bad=1
        fi
        if [ "$mstep" -lt "$cstep" ]; then
            notok "kill $i: metrics stop at step $mstep, before the checkpoint row at $cstep"
            bad=1
        fi
    fi
    i=$((i + 1))
done
[ $bad -eq 0 ] && ok "kill -9 x$KILLS: every checkpoint loads ($loaded times there was one), integrity_check ok each time, history up to the last checkpoint row"
[ "$resumed" -ge 3 ] && ok "kill -9: training resumed from the checkpoint and went on $resumed times (last step $prev)" ||
    notok "kill -9: training went on from a checkpoint only $resumed times (last step $prev): the kills came too early?"
# plus one left by a process that is gone, and one of a live process ($$)
dead=4194000
while kill -0 $dead 2>/dev/null; do dead=$((dead + 1)); done
echo stale >"$ck.tmp.$dead"
echo live >"$ck.tmp.$$"
cut=$(ls "$tmp" | grep -c 'k\.safetensors\.tmp\.')
# A last, clean run: resumes, finishes, and the history tells one story.
if $SDLM train -d $corpus -spm "$tmp/tok.model" -ckpt "$ck" $tiny --save-every 3 --db "$db" --steps $((prev + 6)) \
    >"$tmp/out" 2>"$tmp/err"; then
    ok "after the kills, a clean run resumes and finishes at step $((prev + 6))"
else
    notok "after the kills, a clean run fails: $(tail -2 "$tmp/err")"
fi
runs=$(q "SELECT count(*) FROM runs")
status=$(q "SELECT status FROM runs ORDER BY id DESC LIMIT 1")
gaps=$(q "SELECT count(*) FROM metrics a WHERE step > 1 AND NOT EXISTS (SELECT 1 FROM metrics b WHERE b.run_id = a.run_id AND b.step = a.step - 1)")
[ "$status" = finished ] && ok "history: $runs run(s), the last one finished; $gaps gap(s) in its metrics (a kill between writing a checkpoint and committing its history loses those steps' rows)" ||
    notok "history: the last run is '$status', not finished"
n=$(ls "$tmp" | grep -c 'k\.safetensors\.tmp\.')
if [ "$n" -eq 1 ] && [ -f "$ck.tmp.$$" ]; then
    ok "kill -9: the clean run's save removed the $((cut - 1)) temp file(s) of dead savers, and kept a live one's"
else
    notok "kill -9: $n temp file(s) beside the checkpoint after a clean save (of $cut; want only the live one)"
fi
rm -f "$ck.tmp.$$"

# ---- a full disk while saving ---------------------------------------------------
ck="$tmp/full/m.safetensors"
mkdir -p "$tmp/full"
$SDLM train -d $corpus -spm "$tmp/tok.model" -ckpt "$tmp/first.safetensors" $tiny --steps 3 --save-every 3 --db "" \
    >/dev/null 2>"$tmp/err" || notok "full disk: the first checkpoint: $(tail -1 "$tmp/err")"
size=$(wc -c <"$tmp/first.safetensors")
how=
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=$((size * 3 / 2 / 1024 + 8))k sdlm-full "$tmp/full" 2>/dev/null; then
    mnt="$tmp/full"
    how="a tmpfs of $((size * 3 / 2 / 1024 + 8)) KB"
fi
cp "$tmp/first.safetensors" "$ck"
cp "$ck" "$tmp/before.safetensors"
if [ -n "$mnt" ]; then
    $SDLM train -d $corpus -spm "$tmp/tok.model" -ckpt "$ck" $tiny --steps 6 --save-every 3 --db "" >"$tmp/out" 2>"$tmp/err"
    rc=$?
else
    how="ulimit -f $((size / 512 / 2)) blocks"
    (trap '' XFSZ; ulimit -f $((size / 512 / 2)) && exec $SDLM train -d $corpus -spm "$tmp/tok.model" -ckpt "$ck" $tiny \
        --steps 6 --save-every 3 --db "") >"$tmp/out" 2>"$tmp/err"
    rc=$?
fi
if crashed $rc "$tmp/err"; then notok "full disk ($how): crashed (exit $rc)"
elif [ $rc -eq 0 ]; then notok "full disk ($how): exit 0, the failed save was not reported"
else ok "full disk ($how): exit $rc: $(tr '\r' '\n' <"$tmp/err" | grep -a '^sdlm' | tail -1)"; fi
cmp -s "$ck" "$tmp/before.safetensors" && ok "full disk: the previous checkpoint is intact, byte for byte" ||
    notok "full disk: the previous checkpoint changed"
ls "$tmp/full" | grep -q '\.tmp' && notok "full disk: a temp file is left: $(ls "$tmp/full")" ||
    ok "full disk: no temp file left behind"
$SDLM sample -ckpt "$ck" --steps 2 --no-save >/dev/null 2>&1 && ok "full disk: the previous checkpoint still loads" ||
    notok "full disk: the previous checkpoint does not load"
if [ -n "$mnt" ]; then umount "$mnt" && mnt=; fi

# The database on a full disk: infills keep printing, the history says why it
# stopped growing, and stays intact.
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=192k sdlm-fulldb "$tmp/full" 2>/dev/null; then
    mnt="$tmp/full"
    db="$tmp/full/h.db"
    i=0
    while [ $i -lt 20 ]; do
        i=$((i + 1))
        $SDLM infill --steps 50 -n 4 --seed $i -ckpt "$tmp/first.safetensors" --db "$db" "a {8} b {8}" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ -s "$tmp/err" ] && break
    done
    if [ $rc -eq 0 ] && [ -s "$tmp/out" ] && grep -qi "full\|no space left" "$tmp/err" && ! grep -q "disk I/O error\$" "$tmp/err"; then
        ok "full disk under the database: after $i infill(s) it warns, and still prints: $(sed "s|$tmp|\$T|g" "$tmp/err")"
    else notok "full disk under the database: exit $rc after $i infills: $(head -2 "$tmp/err")"; fi
    ic=$(q "PRAGMA integrity_check")
    n=$(q "SELECT count(*) FROM samples")
    [ "$ic" = ok ] && [ "$n" -gt 0 ] && ok "full disk under the database: integrity_check ok, $n samples kept" ||
        notok "full disk under the database: integrity_check '$ic', $n samples"
    umount "$mnt" && mnt=
else
    ok "full disk under the database: skipped (no tmpfs mount here)"
fi

# ---- the checkpoint's folder fails mid-run ----------------------------------------
# A real run saving every 20 steps; once its first checkpoint is there, the
# folder is moved away, made read-only, or its file system filled. The run must
# say so at the first failed save (the one after the last good checkpoint),
# stop by itself with exit 1 naming that checkpoint, and leave it intact.
midrun_fault() { # midrun_fault NAME FOLDER BREAK-COMMAND: sets $fault_rc, $fault_good, $fault_ck
    dir=$2
    $SDLM train -d $corpus -spm "$tmp/tok.model" -ckpt "$dir/m.safetensors" $tiny -ep 100000 --steps 1000000 --save-every 20 \
        --db "$tmp/fault.db" >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    i=0
    while [ ! -f "$dir/m.safetensors" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    eval "$3"
    i=0
    while kill -0 $pid 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 $pid 2>/dev/null
    wait $pid
    fault_rc=$?
    pid=
}
fault_check() { # fault_check NAME CHECKPOINT-AFTER: the report, the stop, the intact checkpoint
    good=$(head -c 4096 "$2" | tr -c '[:print:]' ' ' | sed -n 's/.*"step":"\([0-9]*\)".*/\1/p')
    # the first failure told names its own step, or (when the terminal line came later) "failing since step N"
    first=$(grep -a 'saving failed' "$tmp/err" | head -1 | sed -n -e 's/.*failing since step \([0-9]*\).*/\1/p' \
        -e 't' -e 's/.*step \([0-9]*\): saving failed.*/\1/p')
    since=$(tail -1 "$tmp/err" | sed -n 's/.* since step \([0-9]*\) failed.*/\1/p')
    if crashed $fault_rc "$tmp/err"; then notok "$1: crashed (exit $fault_rc)"
    elif [ "$fault_rc" -ne 1 ]; then notok "$1: exit $fault_rc, want 1: $(tail -1 "$tmp/err")"
    elif [ -z "$good" ] || [ "$first" != $((good + 20)) ] || [ "$since" != "$first" ]; then
        notok "$1: last good step '$good', first failure told at step '$first', the stop names '$since': $(grep -a 'sdlm train' "$tmp/err" | head -3)"
    else ok "$1: told at step $first, one save interval after the last good checkpoint (step $good); exit 1: $(tail -1 "$tmp/err" | sed "s|$tmp|\$T|g")"; fi
    $SDLM sample -ckpt "$2" --steps 2 --no-save >/dev/null 2>"$tmp/serr" && ok "$1: the last good checkpoint (step $good) loads" ||
        notok "$1: the last good checkpoint does not load: $(cat "$tmp/serr")"
}
mkdir -p "$tmp/gone"
midrun_fault "folder removed" "$tmp/gone" 'mv "$tmp/gone" "$tmp/gone.moved"; cp "$tmp/gone.moved/m.safetensors" "$tmp/gone.copy"'
fault_check "mid-run, folder removed (moved away)" "$tmp/gone.moved/m.safetensors"
cmp -s "$tmp/gone.moved/m.safetensors" "$tmp/gone.copy" && ok "mid-run, folder removed: the checkpoint is byte for byte as it was" ||
    notok "mid-run, folder removed: the checkpoint changed after the folder went"
run_id=$(q2() { sqlite3 -batch "$tmp/fault.db" "$1"; }; q2 "SELECT id FROM runs ORDER BY id DESC LIMIT 1")
notes=$(sqlite3 -batch "$tmp/fault.db" "SELECT status || ': ' || notes FROM runs WHERE id = $run_id")
echo "$notes" | grep -q "^failed: step [0-9]*: saving failed" && ok "mid-run, folder removed: the history says why: $(echo "$notes" | head -1 | sed "s|$tmp|\$T|g")" ||
    notok "mid-run, folder removed: the history's run says '$notes'"
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$tmp/rodir"
    if mount --bind "$tmp/rodir" "$tmp/rodir" 2>/dev/null; then
        mnt="$tmp/rodir"
        midrun_fault "read-only" "$tmp/rodir" 'j=0; until mount -o remount,bind,ro "$tmp/rodir" 2>/dev/null || [ $j -gt 50 ]; do sleep 0.02; j=$((j + 1)); done; cp "$tmp/rodir/m.safetensors" "$tmp/ro.copy"'
        fault_check "mid-run, folder made read-only (a read-only bind mount)" "$tmp/rodir/m.safetensors"
        cmp -s "$tmp/rodir/m.safetensors" "$tmp/ro.copy" && ok "mid-run, read-only: the checkpoint is byte for byte as it was" ||
            notok "mid-run, read-only: the checkpoint changed"
        umount "$mnt" && mnt=
    else ok "mid-run, read-only folder: skipped (no bind mount here)"; fi
    mkdir -p "$tmp/fulldir"
    if mount -t tmpfs -o size=4m sdlm-fullrun "$tmp/fulldir" 2>/dev/null; then
        mnt="$tmp/fulldir"
        midrun_fault "full" "$tmp/fulldir" 'dd if=/dev/zero of="$tmp/fulldir/filler" bs=64k 2>/dev/null; cp "$tmp/fulldir/m.safetensors" "$tmp/full.copy"'
        fault_check "mid-run, file system filled (a 4 MB tmpfs)" "$tmp/fulldir/m.safetensors"
        cmp -s "$tmp/fulldir/m.safetensors" "$tmp/full.copy" && ok "mid-run, full: the checkpoint is byte for byte as it was" ||
            notok "mid-run, full: the checkpoint changed"
        ls "$tmp/fulldir" | grep -q '\.tmp\.' && notok "mid-run, full: a temp file is left: $(ls "$tmp/fulldir")" ||
            ok "mid-run, full: no temp file left behind"
        umount "$mnt" && mnt=
    else ok "mid-run, full file system: skipped (no tmpfs mount here)"; fi
else
    ok "mid-run, read-only folder and full file system: skipped (they need root for the mounts)"
fi

# ---- a database sdlm cannot write -----------------------------------------------
m="$tmp/first.safetensors"
db="$tmp/ro/h.db"
mkdir -p "$tmp/ro"
$SDLM infill --steps 2 --seed 1 -ckpt "$m" --db "$db" "a {2}" >/dev/null 2>&1
rows=$(q "SELECT count(*) FROM samples")
how=
if [ "$(id -u)" != 0 ]; then
    chmod 444 "$db" && chmod 555 "$tmp/ro" && how="chmod 444"
elif mount --bind "$tmp/ro" "$tmp/ro" 2>/dev/null && mount -o remount,bind,ro "$tmp/ro" 2>/dev/null; then
    mnt="$tmp/ro"
    how="a read-only bind mount"
fi
if [ -z "$how" ]; then
    ok "read-only database: skipped (root here, and no read-only mount)"
else
    $SDLM infill --steps 2 --seed 1 -ckpt "$m" --db "$db" "a {2}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 0 ] && [ -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then
        ok "read-only database ($how): infill prints its result and warns: $(cat "$tmp/err")"
    else notok "read-only database ($how): exit $rc, stderr: $(head -3 "$tmp/err")"; fi
    # SQLite cannot read a WAL database where it cannot make its -shm file;
    # the store then opens it immutable: listing works (or says why, exit 3)
    $SDLM samples --db "$db" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 0 ] && grep -q " infill " "$tmp/out"; then ok "read-only database: sdlm samples still lists what it holds"
    elif [ $rc -eq 3 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then ok "read-only database: sdlm samples cannot read it and says so: exit 3: $(cat "$tmp/err")"
    else notok "read-only database: sdlm samples: exit $rc: $(head -2 "$tmp/err")"; fi
    for c in runs "history last"; do
        $SDLM $c --db "$db" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ]; then ok "read-only database: sdlm $c reads it (opened read-only)"
        elif [ $rc -eq 2 ] && grep -q "no runs" "$tmp/err"; then ok "read-only database: sdlm $c reads it: $(cat "$tmp/err")"
        else notok "read-only database: sdlm $c: exit $rc: $(head -2 "$tmp/err")"; fi
    done
    $SDLM train -d $corpus -spm "$tmp/tok.model" -ckpt "$tmp/ro2.safetensors" $tiny --steps 2 --db "$db" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if crashed $rc "$tmp/err"; then notok "read-only database: train crashed (exit $rc)"
    elif [ $rc -ne 0 ]; then ok "read-only database: train refuses to start: exit $rc: $(tail -1 "$tmp/err")"
    elif grep -qi "histor" "$tmp/err"; then ok "read-only database: train runs without history and says so: $(grep -i histor "$tmp/err" | head -1)"
    else notok "read-only database: train runs without history (exit 0) but does not say so"; fi
    rows2=$(sqlite3 -batch "file:$db?immutable=1" "SELECT count(*) FROM samples" 2>&1)
    [ "$rows2" = "$rows" ] && ok "read-only database: unchanged ($rows sample rows)" ||
        notok "read-only database: $rows sample rows before, '$rows2' after"
    if command -v tmux >/dev/null 2>&1; then
        editor_run "$db" "T h e Space c a t Space C-t C-r" 12 "read-only"
        msg=$(echo "$screen" | grep -i "read-only" | tail -1 | sed 's/.*│ training: [a-z]* *//' | tr -s ' ')
        if [ "$erc" = 0 ] && [ -n "$msg" ]; then ok "read-only database: the editor fills a span, says \"$msg\", quits with 0"
        else notok "read-only database: the editor (exit '$erc'): $(echo "$screen" | tail -1 | tr -s ' ')"; fi
    fi
    if [ -n "$mnt" ]; then umount "$mnt" && mnt=; else chmod 755 "$tmp/ro"; chmod 644 "$db"; fi
fi

# ---- a database another process holds locked --------------------------------------
db="$tmp/lock.db"
$SDLM infill --steps 2 --seed 1 -ckpt "$m" --db "$db" "a {2}" >/dev/null 2>&1
mkfifo "$tmp/lockin"
sqlite3 "$db" <"$tmp/lockin" >/dev/null 2>&1 &
lockpid=$!
exec 3>"$tmp/lockin"
echo "BEGIN EXCLUSIVE; INSERT INTO samples (time, mode, template) VALUES (0, 'infill', 'held');" >&3
sleep 0.3
start=$(date +%s)
$SDLM infill --steps 2 --seed 1 -ckpt "$m" --db "$db" "b {2}" >"$tmp/out" 2>"$tmp/err"
rc=$?
took=$(($(date +%s) - start))
if [ $rc -eq 0 ] && [ -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -qi "lock\|busy" "$tmp/err"; then
    ok "locked database: infill prints its result and warns after ${took}s: $(cat "$tmp/err")"
else notok "locked database: exit $rc after ${took}s, stderr: $(head -3 "$tmp/err")"; fi
if command -v tmux >/dev/null 2>&1; then
    # the editor: an infill whose save waits out the lock, then says so
    editor_run "$db" "T h e Space c a t Space C-t C-r" 14 "locked"
    msg=$(echo "$screen" | grep -i "locked" | tail -1 | sed 's/.*│ training: [a-z]* *//' | tr -s ' ')
    if [ "$erc" = 0 ] && [ -n "$msg" ]; then ok "locked database: the editor fills a span (its save waits out the lock), says \"$msg\", quits with 0"
    else notok "locked database: the editor (exit '$erc'): $(echo "$screen" | tail -1 | tr -s ' ')"; fi
fi
echo "ROLLBACK;" >&3
exec 3>&-
wait $lockpid 2>/dev/null
lockpid=
[ "$(q "PRAGMA integrity_check")" = ok ] && ok "locked database: intact afterwards" || notok "locked database: damaged"

# ---- two sdlm processes on one database --------------------------------------------
db="$tmp/two.db"
for k in a b; do
    $SDLM train -d $corpus -spm "$tmp/tok.model" -ckpt "$tmp/two-$k.safetensors" $tiny --steps 60 --save-every 5 \
        --db "$db" >"$tmp/two-$k.out" 2>"$tmp/two-$k.err" &
    eval "pid_$k=\$!"
done
j=0
while [ $j -lt 6 ]; do
    $SDLM infill --steps 2 --seed $j -ckpt "$m" --db "$db" "c {2}" >/dev/null 2>>"$tmp/two-infill.err"
    j=$((j + 1))
done
wait $pid_a
rca=$?
wait $pid_b
rcb=$?
[ $rca -eq 0 ] && [ $rcb -eq 0 ] && ok "two trainings on one database: both finish" ||
    notok "two trainings on one database: exits $rca and $rcb: $(tail -1 "$tmp/two-a.err") / $(tail -1 "$tmp/two-b.err")"
[ "$(q "PRAGMA integrity_check")" = ok ] && ok "two at once: integrity_check ok" || notok "two at once: integrity_check fails"
nr=$(q "SELECT count(DISTINCT run_id) FROM metrics WHERE step = 60")
ns=$(q "SELECT count(*) FROM samples WHERE template = 'c {2}'")
[ "$nr" = 2 ] && [ "$ns" = 6 ] && ok "two at once: both runs have metrics to step 60, and all 6 infills are saved" ||
    notok "two at once: $nr runs reached step 60, $ns of 6 infills saved; $(cat "$tmp"/two-*.err | grep -i 'history\|warning' | head -2)"
grep -qi "history unavailable\|not saved" "$tmp"/two-*.err && notok "two at once: a process lost its history: $(grep -hi "history unavailable\|not saved" "$tmp"/two-*.err | head -1)" ||
    ok "two at once: no process reports a lost history"
exit 0
