#!/usr/bin/env bash
# The thundering herd, counted by the kernel: starts slotgate in prefork mode with
# WORKERS idle workers, makes REQUESTS connections one after the other (one request
# each), and reports how many times the workers were woken meanwhile (the sum of
# their voluntary context switches, /proc/PID/status). One worker woken per
# connection gives about 2 per connection (plus each idle worker's one-second tick);
# a herd gives about WORKERS per connection.
#
#   tools/bench-prefork-wakeups.sh                  # 32 workers, 1000 connections
#   SLOTGATE=/path/to/another/slotgate tools/bench-prefork-wakeups.sh
#
# Needs curl. Uses release builds, 127.0.0.1 only; every process it starts is
# stopped by PID on exit.
set -euo pipefail
WORKERS="${WORKERS:-32}"
REQUESTS="${REQUESTS:-1000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release"
(cd "$ROOT" && cargo build --release --bins -q)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/slotgate-wake.XXXXXX")"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN/slotgate-origin" --listen 127.0.0.1:0 --name a >"$WORK/origin.out" &
PIDS+=("$!")
for _ in $(seq 200); do grep -q "listening on" "$WORK/origin.out" 2>/dev/null && break; sleep 0.05; done
OPORT="$(sed -n 's/^listening on .*://p' "$WORK/origin.out")"

cat >"$WORK/slotgate.conf" <<CONF
ServerRoot "$WORK"
MPM prefork
Listen 127.0.0.1:0
StartServers $WORKERS
MinSpareServers $WORKERS
MaxSpareServers $((WORKERS + 1))
MaxRequestWorkers $WORKERS
ErrorLog "$WORK/error.log"
LogLevel info
ProxyPass / http://127.0.0.1:$OPORT/
CONF
"${SLOTGATE:-$BIN/slotgate}" -f "$WORK/slotgate.conf" &
SPID=$!
PIDS=("$SPID" "${PIDS[@]}")
PORT=""
for _ in $(seq 200); do
    PORT="$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/error.log" 2>/dev/null | head -n1 || true)"
    [ -n "$PORT" ] && break
    sleep 0.05
done
[ -n "$PORT" ] || { echo "slotgate did not start" >&2; cat "$WORK/error.log" >&2; exit 1; }
for _ in $(seq 600); do
    [ "$(pgrep -P "$SPID" | wc -l || true)" -ge "$WORKERS" ] && break
    sleep 0.05
done
sleep 1 # the workers reach their idle wait

wakeups() {
    for w in $(pgrep -P "$SPID" || true); do
        awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$w/status" 2>/dev/null || true
    done | awk '{ s += $1 } END { print s + 0 }'
}
before="$(wakeups)"
start="$(date +%s.%N)"
curl -s -o /dev/null -H 'Connection: close' "http://127.0.0.1:$PORT/bytes/100?[1-$REQUESTS]"
end="$(date +%s.%N)"
after="$(wakeups)"
awk -v w="$WORKERS" -v n="$REQUESTS" -v d="$((after - before))" -v s="$start" -v e="$end" 'BEGIN {
    printf "%d workers, %d sequential connections in %.2f s: %d worker wake-ups (%.1f per connection)\n",
        w, n, e - s, d, d / n }'
