#!/usr/bin/env bash
# The reducer on a large program (issue #14): a generated workload of more than 50 KB whose reference
# run takes seconds, checked against a backend with a planted bug (harness/src/broken.rs), reduced
# with `bfjit-testing reduce` within 5 minutes to at most 1% of its size. Prints the figures:
# program size (bytes and commands), the reference's run time, the reduction's wall time, the size
# of the reproducer and the reproducer itself; exit 1 when the goal (<= 1% of the bytes, <= the time
# limit, confirmed by the reference) is missed. docs/differential.md has one run's figures.
#
# usage: scripts/reduce-demo.sh [PROGRAM.bf [BROKEN-BACKEND]]
#   default: corpus/bench/sieve.bf (61 KB, about 5 s on the reference) and broken-mul-offset
#   SECONDS_LIMIT=N   the reduction's time limit (default 300)
#   JOBS=N            candidates checked at once (default 2)
#   BFJIT_TESTING=path/to/bfjit-testing (default: target/release/bfjit-testing, built if missing)
set -u
cd "$(dirname "$0")/.."
PROGRAM=${1:-corpus/bench/sieve.bf}
BUG=${2:-broken-mul-offset}
LIMIT=${SECONDS_LIMIT:-300}
JOBS=${JOBS:-2}
BIN=${BFJIT_TESTING:-target/release/bfjit-testing}
if [ ! -x "$BIN" ]; then
    nice cargo build --release -p bfjit-harness --features test-support --bin bfjit-testing || exit 1
fi
WORK=$(mktemp -d -t bfjit-reduce-demo-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export BFJIT_CACHE_DIR="$WORK/cache"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

bytes=$(wc -c < "$PROGRAM")
commands=$(tr -cd '+<>[].,-' < "$PROGRAM" | wc -c)
echo "== $PROGRAM: $bytes bytes, $commands commands; planted bug: $BUG"

t0=$(now)
nice "$BIN" run --backend reference "$PROGRAM" > /dev/null || exit 1
t1=$(now)
reference=$(secs "$t0" "$t1")
echo "== reference run: $reference s"

echo "== reducing (--seconds $LIMIT --jobs $JOBS)"
t0=$(now)
nice "$BIN" reduce "$PROGRAM" --broken "$BUG" --seconds "$LIMIT" --jobs "$JOBS" \
    --out "$WORK/out" > "$WORK/reproducer" 2> "$WORK/log"
code=$?
t1=$(now)
wall=$(secs "$t0" "$t1")
cat "$WORK/log"
if [ "$code" != 3 ]; then
    echo "FAIL: bfjit-testing reduce exited $code (3 means a reproducer was written)"
    exit 1
fi
bf=$(ls "$WORK"/out/*.bf)
end_bytes=$(wc -c < "$bf")
percent=$(echo "scale=3; 100 * $end_bytes / $bytes" | bc)
echo "== reproducer ($end_bytes bytes, $percent% of $bytes):"
cat "$bf"
echo
grep -E '^(tape_len|eof|input|divergence|replay):' "${bf%.bf}.txt"
echo "== figures: start $bytes bytes ($commands commands), reference run $reference s;" \
    "reduced to $end_bytes bytes in $wall s wall time (limit $LIMIT s, $JOBS jobs)"

ok=1
if [ $((end_bytes * 100)) -gt "$bytes" ]; then
    echo "FAIL: $end_bytes bytes is more than 1% of $bytes"
    ok=0
fi
# The whole command (the original run and the reference's confirmation included) within the limit.
if [ "$(echo "$wall > $LIMIT" | bc)" = 1 ]; then
    echo "FAIL: $wall s is over the limit"
    ok=0
fi
if ! grep -q 'confirmed by reference' "$WORK/log"; then
    echo "FAIL: the reference did not confirm the reproducer"
    ok=0
fi
[ "$ok" = 1 ] && echo "OK: <= 1% of the size within the time limit, confirmed by the reference"
[ "$ok" = 1 ]
