#!/usr/bin/env bash
# The full-size hostile-input battery (docs/hostile.md): peak memory and time of every backend on
# large and pathological programs, the flag and file reproducers, and temporary folders after
# interrupted runs. CI runs the scaled version, harness/tests/hostile.rs and tests/memory.rs.
#
# usage: scripts/hostile-battery.sh [--quick]
#   BFJIT=path/to/bfjit   the binary to test (default: target/release/bfjit, built if missing)
#   LIMIT=SECS            wall-clock limit per run (default 600)
# --quick uses 10x smaller inputs. Exit 1 when a check fails; the table is printed either way.
set -u
cd "$(dirname "$0")/.."
BFJIT=${BFJIT:-target/release/bfjit}
LIMIT=${LIMIT:-600}
SCALE=1
[ "${1:-}" = "--quick" ] && SCALE=10
[ -x "$BFJIT" ] || cargo build --release -p bfjit-harness || exit 1
BFJIT=$(realpath "$BFJIT")
WORK=$(mktemp -d -t bfjit-battery-XXXXXX)
export TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"
trap 'rm -rf "$WORK"' EXIT
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }

echo "== generating inputs in $WORK"
python3 - "$WORK" "$SCALE" <<'PY'
import random, sys
work, scale = sys.argv[1], int(sys.argv[2])
random.seed(19)
def write(name, data): open(f"{work}/{name}", "wb").write(data)
write("plus-10MB.bf", b"+" * (10_000_000 // scale) + b".")
write("junk-100MB.bf", random.randbytes(100_000_000 // scale).replace(b"]", b" ").replace(b"[", b" ") + b".")
write("pmlr-100MB.bf", b"+-<>" * (25_000_000 // scale) + b".")
# The dense worst case for the IR: random +-<> (one node per two commands after folding).
write("random-pmlr-10MB.bf", bytes(random.choice(b"+-<>") for _ in range(1_000_000 // scale)) * 10 + b".")
depth = 1_000_000 // scale
write("nest-1M.bf", b"+" + b"[>" * depth + b"<-]" * depth + b".")
PY

backends=$("$BFJIT" backends | awk '$2 == "available" {print $1}')
echo
printf '%-16s %-14s %6s %10s %9s\n' input backend exit peak_MB wall_s
for input in plus-10MB.bf junk-100MB.bf pmlr-100MB.bf random-pmlr-10MB.bf nest-1M.bf; do
  for b in $backends; do
    log="$WORK/time.log"
    timeout "$LIMIT" /usr/bin/time -v "$BFJIT" run --backend "$b" --tape-len 1073741824 \
      "$WORK/$input" </dev/null >/dev/null 2>"$log"
    code=$?
    peak=$(awk '/Maximum resident/ {printf "%.0f", $NF / 1024}' "$log")
    wall=$(awk '/Elapsed \(wall/ {n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.1f", s}' "$log")
    printf '%-16s %-14s %6s %10s %9s\n' "$input" "$b" "$code" "${peak:-?}" "${wall:-?}"
    grep -q panicked "$log" && fail "$b panicked on $input"
    [ "$code" = 124 ] && fail "$b took over $LIMIT s on $input"
    [ "$input" = plus-10MB.bf ] && [ "${peak:-99999}" -gt 320 ] && fail "$b peaked at $peak MB on $input (target 320)"
  done
done

echo
echo "== flags and files (each must exit 2 and say what is allowed)"
echo "+." > "$WORK/p.bf"
while read -r args; do
  out=$("$BFJIT" $args 2>&1 </dev/null); code=$?
  if [ "$code" != 2 ] || echo "$out" | grep -q panicked; then fail "bfjit $args: exit $code"; fi
  printf '  exit %s  bfjit %s\n' "$code" "$args"
done <<EOF2
check --isolate --timeout inf $WORK/p.bf
check --isolate --timeout 1e20 $WORK/p.bf
check --isolate --timeout nan $WORK/p.bf
check --isolate --timeout 0 $WORK/p.bf
check --timeout -1 $WORK/p.bf
fuzz --timeout inf --seconds 1
fuzz --timeout 0 --seconds 3 --cases 5
fuzz --seconds 0
fuzz --seconds nan
fuzz --cases 0
fuzz --time-share 2
fuzz --time-share nan
fuzz --time-share 0
fuzz --corpus /nonexistent --seconds 1
run --tape-len -1 $WORK/p.bf
run --fuel -5 $WORK/p.bf
run /nonexistent.bf
check /nonexistent.bf
EOF2

echo
echo "== temporary folders"
"$BFJIT" fuzz --timeout 0.05 --seconds 10 --out "$WORK/findings" >/dev/null 2>&1 </dev/null
left=$(find "$TMPDIR" -mindepth 1 | wc -l)
echo "  after fuzz --timeout 0.05 --seconds 10: $left entries left in TMPDIR"
[ "$left" = 0 ] || fail "fuzz left $left entries"
python3 -c "print(''.join('+' * (i % 5 + 1) + '[->' + '+' * (i % 3 + 1) + '>[-]<<]>.<' for i in range(120)))" > "$WORK/slow.bf"
for args in "check --isolate --backends c-baseline" "check --backends c-opt" "run --backend c-baseline"; do
  "$BFJIT" $args "$WORK/slow.bf" >/dev/null 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 300); do find "$TMPDIR" -name 'bfjit-c-*' | grep -q . && break; sleep 0.02; done
  kill -TERM "$pid"; wait "$pid"; code=$?
  sleep 0.5
  left=$(find "$TMPDIR" -mindepth 1 | wc -l)
  procs=$(ps -eo args | grep -c "[${TMPDIR:0:1}]${TMPDIR:1}")
  echo "  SIGTERM during the C compile of bfjit $args: exit $code, $left entries left, $procs processes left"
  [ "$left" = 0 ] && [ "$procs" = 0 ] || fail "bfjit $args left $left entries / $procs processes"
done
exit $FAILED
