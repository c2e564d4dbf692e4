#!/bin/sh
# Data-parallel training over MPI (issue 6). Builds the MPI variant into
# build-mpi/ (./sdlm and build/ are left alone), then on this machine with
# OPENBLAS_NUM_THREADS=1: the MPI binary without mpirun is one rank; 2 and 3
# ranks reach the weights, Adam moments, EMA and time warp of 1 rank on the
# same global batches within float tolerance (dropout off: its masks depend on
# the sharding); a 2-rank checkpoint resumes on 1 rank and the reverse, each
# ending where an uninterrupted run does; rank 0 alone speaks and records the
# run with its ranks; a rank killed with SIGKILL ends the job, naming it, with
# the last checkpoint intact. Skipped without Open MPI (CI installs it).
cd "$(dirname "$0")/.." || exit 2
if ! command -v mpirun >/dev/null 2>&1 || ! pkg-config --exists mpi 2>/dev/null; then
    echo "skipped: no MPI (apt-get install libopenmpi-dev openmpi-bin)"
    exit 0
fi
case ${BUILD:-build} in
    build) ;;
    *) echo "skipped: the MPI test runs with the plain build, not in $BUILD"; exit 0 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/lib.sh
export OPENBLAS_NUM_THREADS=1
# containers often forbid the cross-process reads (ptrace) of shared memory's single-copy path
export OMPI_MCA_btl_vader_single_copy_mechanism=none
sdlm=build-mpi/tree/sdlm close=build-mpi/tests/ckpt_close
mpi() { # mpi NP ARGS...: sdlm ARGS on NP ranks, stdout to $tmp/out, stderr to $tmp/err
    np=$1
    shift
    mpirun -np "$np" --oversubscribe --allow-run-as-root $sdlm "$@" >"$tmp/out" 2>"$tmp/err"
}
near() { # near A B: the checkpoints agree within float tolerance (the reorderings of the sums)
    $close "$tmp/$1.safetensors" "$tmp/$2.safetensors" 1e-7 1e-4 >"$tmp/close" 2>&1
    r=$?
    cat "$tmp/close"
    return $r
}

check "make MPI=1 BUILD=build-mpi builds the MPI variant" \
    make -s MPI=1 BUILD=build-mpi build-mpi/tree/sdlm build-mpi/tests/ckpt_close build-mpi/tests/test_dist
check "it links Open MPI" sh -c "ldd $sdlm | grep -q libmpi"
check "test_dist in the MPI build, without mpirun: one rank" sh -c "build-mpi/tests/test_dist >$tmp/dist 2>&1"

corpus=tests/data/tiny-corpus.txt
./sdlm tokenizer -d $corpus -o "$tmp/tok" --vocab 400 >/dev/null 2>&1 ||
    $sdlm tokenizer -d $corpus -o "$tmp/tok" --vocab 400 >/dev/null 2>&1
# the sdlm recipe's continuous family (time warp, EMA, mixed masks): 48 steps of 8 rows (the warp is in
# use from step 40), its lr by -decs so that a 24-step leg resumed to 48 is the 48-step run
base="-d $corpus -spm $tmp/tok.model -edim 8 -mdim 32 -numl 1 -b 8 -cl 24 -ngen 0 -do 0 --db="
tiny="$base --family continuous --decay-by-decs"

check "without mpirun: one rank, status 0" sh -c "$sdlm train $tiny -ckpt $tmp/one.safetensors --steps 48 2>$tmp/err"
check "without mpirun: finished" grep -q "finished at step 48" "$tmp/err"
check "1 rank: the time warp in use by the end" sh -c "head -c 30000 $tmp/one.safetensors | grep -aq '\"warp\":\"warp1 1 '"
check "2 ranks: status 0" mpi 2 train $tiny -ckpt "$tmp/two.safetensors" --steps 48 --log-every 8
check "2 ranks: one final line (rank 0's)" test "$(grep -c 'finished at step 48' "$tmp/err")" -eq 1
check "2 ranks: the progress line names the ranks" grep -q "tok/s on 2 ranks" "$tmp/err"
check "2 ranks: the weights, moments and EMA of 1 rank" near two one
check "3 ranks (shards of 2, 3, 3 rows): those of 1 rank" sh -c "mpirun -np 3 --oversubscribe --allow-run-as-root \
    $sdlm train $tiny -ckpt $tmp/three.safetensors --steps 48 >/dev/null 2>&1 && $close $tmp/three.safetensors \
    $tmp/one.safetensors 1e-7 1e-4"
$sdlm train $tiny -ckpt "$tmp/other.safetensors" --steps 48 --seed 1 2>/dev/null
check "the comparison fails on another seed's run" sh -c "! $close $tmp/other.safetensors $tmp/one.safetensors 1e-7 1e-4"

# the masked family (the recipe's own): its mask draws are the global batch's, so the ranks agree
check "masked, 1 rank: status 0" sh -c "$sdlm train $base -ckpt $tmp/m1.safetensors --steps 48 2>/dev/null"
check "masked, 2 ranks: status 0" mpi 2 train $base -ckpt "$tmp/m2.safetensors" --steps 48
check "masked, 2 ranks: the weights, moments and EMA of 1 rank" near m2 m1

check "2-rank checkpoint at step 24" mpi 2 train $tiny -ckpt "$tmp/r21.safetensors" --steps 24
check "... resumed on 1 rank to 48: status 0" sh -c "$sdlm train $tiny -ckpt $tmp/r21.safetensors --steps 48 2>/dev/null"
check "... equals the uninterrupted run" near r21 one
check "1-rank checkpoint at step 24" sh -c "$sdlm train $tiny -ckpt $tmp/r12.safetensors --steps 24 2>/dev/null"
check "... resumed on 2 ranks to 48: status 0" mpi 2 train $tiny -ckpt "$tmp/r12.safetensors" --steps 48
check "... equals the uninterrupted run" near r12 one

check "history: 2 ranks recorded" mpi 2 train $tiny --db="$tmp/h.db" -ckpt "$tmp/h.safetensors" --steps 3
check "history: one run, its ranks 2" sh -c "$sdlm history --db $tmp/h.db 1 | grep -Eq '^ +ranks +2$'"
check "runs: the RANKS column says 2" sh -c "$sdlm runs --db $tmp/h.db | awk 'NR == 1 { c = index(\$0, \"RANKS\") } NR == 2 { exit !(c && substr(\$0, c, 5) + 0 == 2) }'"
check "history: every step recorded once" sh -c "[ \$(sqlite3 $tmp/h.db 'select count(*) from metrics') -eq 3 ]"
check "history: resumed on 1 rank" sh -c "$sdlm train $tiny --db=$tmp/h.db -ckpt $tmp/h.safetensors --steps 5 2>/dev/null"
check "history: still one run, now ranks 1, 5 steps" sh -c "$sdlm history --db $tmp/h.db 1 | grep -Eq '^ +ranks +1$' &&
    [ \$(sqlite3 $tmp/h.db 'select count(*) from runs') -eq 1 ] && [ \$(sqlite3 $tmp/h.db 'select count(*) from metrics') -eq 5 ]"

# SIGKILL one rank once a checkpoint exists: the job ends, mpirun names the rank, the checkpoint loads
big="-d $corpus -spm $tmp/tok.model -edim 16 -mdim 64 -numl 2 -b 16 -cl 24 -ngen 0 --db= --save-every 5"
mpirun -np 2 --oversubscribe --allow-run-as-root $sdlm train $big -ckpt "$tmp/kill.safetensors" --steps 1000000 \
    >"$tmp/out" 2>"$tmp/err" &
mp=$!
i=0
while [ ! -f "$tmp/kill.safetensors" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
victim=""
for p in $(pgrep -P $mp); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$p
done
check "SIGKILL: rank 1 found" test -n "$victim"
[ -n "$victim" ] && kill -9 "$victim"
wait $mp
rc=$?
check "SIGKILL of rank 1: the job ends non-zero" test $rc -ne 0
check "SIGKILL of rank 1: the message names rank 1 and the signal" grep -q "rank 1 .*signal 9" "$tmp/err"
check "SIGKILL of rank 1: the checkpoint is intact" sh -c "$close $tmp/kill.safetensors $tmp/kill.safetensors >/dev/null"
check "SIGKILL of rank 1: no partial files left" sh -c "[ \$(ls $tmp | grep -c '^kill') -eq 1 ]"
exit 0
