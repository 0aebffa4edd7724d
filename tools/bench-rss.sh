#!/usr/bin/env bash
# Memory check: streams a large response (default 1 GiB) through slotgate and
# reports the peak resident set size (VmHWM) of every worker and of the supervisor.
#
#   tools/bench-rss.sh            # 1 GiB
#   SIZE=$((8<<30)) tools/bench-rss.sh
#
# Needs curl. Uses release builds of slotgate and slotgate-origin, one worker, on
# 127.0.0.1 only; every process it starts is stopped by PID on exit.
set -euo pipefail
SIZE="${SIZE:-1073741824}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release"
(cd "$ROOT" && cargo build --release --bins -q)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/slotgate-rss.XXXXXX")"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN/slotgate-origin" --listen 127.0.0.1:0 --name big >"$WORK/origin.out" &
PIDS+=("$!")
for _ in $(seq 200); do grep -q "listening on" "$WORK/origin.out" 2>/dev/null && break; sleep 0.05; done
OPORT="$(sed -n 's/^listening on .*://p' "$WORK/origin.out")"

cat >"$WORK/slotgate.conf" <<CONF
ServerRoot "$WORK"
Listen 127.0.0.1:0
StartServers 1
ErrorLog "$WORK/error.log"
LogLevel info
ProxyPass / http://127.0.0.1:$OPORT/
CONF
"$BIN/slotgate" -f "$WORK/slotgate.conf" &
SPID=$!
PIDS=("$SPID" "${PIDS[@]}")
PORT=""
for _ in $(seq 200); do
    PORT="$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/error.log" 2>/dev/null | head -n1)"
    [ -n "$PORT" ] && break
    sleep 0.05
done
[ -n "$PORT" ] || { echo "slotgate did not start" >&2; cat "$WORK/error.log" >&2; exit 1; }

echo "streaming $SIZE bytes through slotgate (127.0.0.1:$PORT) from the origin (127.0.0.1:$OPORT)"
curl -s -o /dev/null -w "status %{http_code}, %{size_download} bytes in %{time_total} s\n" "http://127.0.0.1:$PORT/bytes/$SIZE"
echo "peak RSS (VmHWM):"
echo "  supervisor pid $SPID: $(awk '/VmHWM/ {print $2, $3}' /proc/$SPID/status)"
for w in $(pgrep -P "$SPID"); do
    echo "  worker     pid $w: $(awk '/VmHWM/ {print $2, $3}' /proc/$w/status)"
done
