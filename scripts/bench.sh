#!/bin/sh
# scripts/bench.sh (`make bench`): sdlm bench beside the PyTorch port (tests/ref/bench_torch.py)
# on the same shapes in the same run, and one table with the ratios.
#
# Both sizes of issue 2 (V=4000 E=64 D=256 NL=4, and the seed's V=8000 E=64 D=512 NL=8), each
# timed for a training step (B=32 L=64, 5 iterations after a warm-up, the self-conditioning pass
# on for the warm-up and the odd timed iterations in both) and a sampling step (difflm, B=1 L=64,
# 200 steps). 2 threads, dropout 0. At the seed's size sdlm's training step is also timed lean:
# with --chunk 8 (the 32 sequences in four passes whose gradients add up, so the activations
# of 8 are kept, not of 32), its low-memory setting. The runs are interleaved (sdlm, torch, sdlm, torch, ...) and
# the order flips every round, so the shared machine's noise falls on both alike; the table takes
# each implementation's best round. The sgemm peak is measured in every round too.
#
# On a host with AVX-512, ./sdlm runs its AVX-512 kernels; most users' CPUs have AVX2 at best.
# So when SDLM_AVX2 names ./sdlm's twin built for AVX2 alone (`make avx2`, which `make bench`
# runs on such a host: build-x86-64-v3/sdlm), every sdlm run is made with both, side by side,
# and the tables have a row for each instruction set ("isa" in sdlm bench's JSON).
#
# Environment: ROUNDS (default 2), PYTHON (default /usr/bin/python3, the one with torch),
# BENCH_LOG (default build/bench.jsonl: every raw JSON line, with the load average before it),
# SDLM_AVX2 (see above; unset: ./sdlm alone).
# Not part of `make test`: it takes minutes and needs torch.
#
# `scripts/bench.sh --table LOG` prints the table of an earlier run's log again, running nothing.
set -u
cd "$(dirname "$0")/.." || exit 2
PY=${PYTHON:-/usr/bin/python3}
ROUNDS=${ROUNDS:-2}
LOG=${BENCH_LOG:-build/bench.jsonl}
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
table_only=0
if [ "${1:-}" = --table ]; then
    [ -f "${2:-}" ] || { echo "usage: scripts/bench.sh [--table LOG]" >&2; exit 2; }
    table_only=1 LOG=$2
fi

if [ "$table_only" = 0 ]; then
[ -x ./sdlm ] || { echo "bench: ./sdlm is missing (run make)" >&2; exit 2; }
# Time a copy, so a rebuild of ./sdlm during the run (minutes) cannot change or break it.
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
cp ./sdlm "$tmp/sdlm" || exit 2
SDLM=$tmp/sdlm
AVX2=
isa=$("$SDLM" bench --what sample --V 50 --E 8 --D 16 --layers 1 --L 8 --steps 1 --json |
    sed -n 's/.*"isa":"\([^"]*\)".*/\1/p')
if [ -n "${SDLM_AVX2:-}" ] && [ "$isa" = x86-64-v4 ]; then
    [ -x "$SDLM_AVX2" ] || { echo "bench: $SDLM_AVX2 is missing (run make avx2)" >&2; exit 2; }
    cp "$SDLM_AVX2" "$tmp/sdlm-avx2" || exit 2
    AVX2=$tmp/sdlm-avx2
fi
"$PY" -c "import torch" 2>/dev/null || { echo "bench: $PY has no torch (apt-get install python3-torch)" >&2; exit 2; }
mkdir -p "$(dirname "$LOG")" && : >"$LOG" || exit 2

load() { cut -d' ' -f1 /proc/loadavg; }

# run ROUND LABEL COMMAND...: one JSON line from COMMAND, logged with the round and the load.
run() {
    round=$1 label=$2; shift 2
    before=$(load)
    out=$("$@" 2>&1 | tail -1)
    case $out in
    "{"*) echo "{\"round\":$round,\"size\":\"$label\",\"load_before\":$before,\"run\":$out}" >>"$LOG" ;;
    *) echo "bench: $label failed: $out" >&2; exit 1 ;;
    esac
    printf '.' >&2
}

SMALL="--V 4000 --E 64 --D 256 --layers 4"
SEED="--V 8000 --E 64 --D 512 --layers 8"
TRAIN="--what train --B 32 --L 64 --iters 5 --json"
SAMPLE="--what sample --B 1 --L 64 --steps 200 --json"
LEAN="--chunk 8"

# sdlm_runs ROUND LABEL ARGS...: ./sdlm bench ARGS, and its AVX2 twin's when there is one
sdlm_runs() {
    round=$1 label=$2; shift 2
    run "$round" "$label" "$SDLM" bench "$@"
    if [ -n "$AVX2" ]; then run "$round" "$label" "$AVX2" bench "$@"; fi
}

start_load=$(cat /proc/loadavg)
printf 'bench: %s rounds, load average %s, sdlm %s%s\n' "$ROUNDS" "$start_load" "$isa" \
    "${AVX2:+ and its x86-64-v3 twin}" >&2
r=1
while [ "$r" -le "$ROUNDS" ]; do
    run "$r" sgemm "$SDLM" bench --what sgemm --json
    for size in small seed; do
        if [ "$size" = small ]; then shape=$SMALL; else shape=$SEED; fi
        for what in "$TRAIN" "$SAMPLE"; do
            # shellcheck disable=SC2086 # the shape and mode strings are word lists
            if [ $((r % 2)) -eq 1 ]; then
                sdlm_runs "$r" "$size" $what $shape
                run "$r" "$size" "$PY" tests/ref/bench_torch.py $what $shape
            else
                run "$r" "$size" "$PY" tests/ref/bench_torch.py $what $shape
                sdlm_runs "$r" "$size" $what $shape
            fi
        done
    done
    # shellcheck disable=SC2086
    sdlm_runs "$r" seed-lean $TRAIN $SEED $LEAN
    r=$((r + 1))
done
echo >&2
end_load=$(cat /proc/loadavg)
echo "{\"round\":0,\"size\":\"loadavg\",\"start\":\"$start_load\",\"end\":\"$end_load\"}" >>"$LOG"
fi

"$PY" - "$LOG" <<'EOF'
import json, sys

rows = [json.loads(line) for line in open(sys.argv[1])]
marks = [r for r in rows if r["size"] == "loadavg"]
rows = [r for r in rows if r["size"] != "loadavg"]
peak = max(r["run"]["gflops"] for r in rows if r["size"] == "sgemm")
loads = [r["load_before"] for r in rows]
start_load, end_load = (marks[0]["start"], marks[0]["end"]) if marks else ("?", "?")


def isa(run):
    return run.get("isa", "?")  # logs from before sdlm bench named it


def best(size, impl, what, isa_name=None):
    runs = [r["run"] for r in rows if r["size"] == size and r["run"]["impl"] == impl
            and r["run"]["what"] == what and (isa_name is None or isa(r["run"]) == isa_name)]
    return min(runs, key=lambda x: x["ms_per_step"])


# sdlm's instruction sets in this log, the widest first (x86-64-v4, x86-64-v3, ...)
isas = sorted({isa(r["run"]) for r in rows if r["run"].get("impl") == "sdlm" and r["size"] != "sgemm"},
              reverse=True)


print(f"load average at start {start_load}; at end {end_load}; 1-minute load before each run "
      f"{min(loads):.2f} to {max(loads):.2f} (2 cores, shared with other work)")
print(f"sgemm peak (2048^3, best of {len({r['round'] for r in rows})} rounds): {peak:.1f} GFLOP/s; "
      f"each figure below is the implementation's best round; train GFLOP/s counts the matrix products "
      f"done and sets them against the sgemm rate measured in the same process just before the timed steps")
print()
print("| size | impl | train ms/step | train tokens/s | sample ms/step | peak RSS MB (train) | train GFLOP/s |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
names = {"small": "V=4000 E=64 D=256 NL=4", "seed": "V=8000 E=64 D=512 NL=8"}
ratios = []
for size in ("small", "seed"):
    t_t, t_s = best(size, "pytorch", "train"), best(size, "pytorch", "sample")
    for i in isas:
        label = "sdlm" if len(isas) == 1 else f"sdlm {i}"
        s_t, s_s = best(size, "sdlm", "train", i), best(size, "sdlm", "sample", i)
        g, pk = s_t["gflops"], s_t["sgemm_gflops"]
        print(f"| {names[size]} | {label} | {s_t['ms_per_step']:.1f} | {s_t['tokens_per_s']:.0f} | "
              f"{s_s['ms_per_step']:.2f} | {s_t['peak_rss_mb']:.0f} | {g:.1f} = {100 * g / pk:.0f}% of {pk:.0f} "
              f"in-process, {100 * g / max(peak, pk):.0f}% of the run's best {max(peak, pk):.0f} |")
        want = 2.5 if size == "small" else 1.5
        ratios.append((f"{names[size]}, {label}", want, t_t["ms_per_step"] / s_t["ms_per_step"],
                       t_s["ms_per_step"] / s_s["ms_per_step"], s_t["peak_rss_mb"] / t_t["peak_rss_mb"]))
    print(f"| {names[size]} | pytorch | {t_t['ms_per_step']:.1f} | {t_t['tokens_per_s']:.0f} | "
          f"{t_s['ms_per_step']:.2f} | {t_t['peak_rss_mb']:.0f} | |")
    for i in isas:
        lean = [r["run"] for r in rows if r["size"] == "seed-lean" and isa(r["run"]) == i]
        if size != "seed" or not lean:
            continue
        label = "sdlm lean" if len(isas) == 1 else f"sdlm {i} lean"
        s_l, s_s = min(lean, key=lambda x: x["ms_per_step"]), best(size, "sdlm", "sample", i)
        g = s_l["gflops"]
        print(f"| {names[size]} | {label} (--chunk 8) | {s_l['ms_per_step']:.1f} | "
              f"{s_l['tokens_per_s']:.0f} | | {s_l['peak_rss_mb']:.0f} | {g:.1f} = {100 * g / s_l['sgemm_gflops']:.0f}% "
              f"of {s_l['sgemm_gflops']:.0f} in-process (useful products only) |")
        ratios.append((f"{names[size]}, {label}", 1.5, t_t["ms_per_step"] / s_l["ms_per_step"],
                       t_s["ms_per_step"] / s_s["ms_per_step"], s_l["peak_rss_mb"] / t_t["peak_rss_mb"]))
print()
print("| size | training speed-up (target) | sampling speed-up (target >= 4x) | peak RSS sdlm/torch (target <= 0.33) |")
print("| --- | ---: | ---: | ---: |")
for name, want, tr, sa, mem in ratios:
    print(f"| {name} | {tr:.2f}x (>= {want}x) | {sa:.2f}x | {mem:.2f} |")
EOF
