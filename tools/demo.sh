#!/usr/bin/env bash
# slotgate demo: two demo origins behind slotgate, on this machine only.
#
#   tools/demo.sh                  # slotgate on 127.0.0.1:8080
#   PORT=9090 tools/demo.sh        # another port (PORT=0: a free one)
#   BIN=target/debug tools/demo.sh # binaries already built there: no build
#
# Builds the release binaries, starts two slotgate-origin servers on ephemeral
# ports, writes a configuration into a temporary directory and starts slotgate.
# The URLs are printed once the scoreboard says slotgate is running (read with
# slotgate-top --json); if it does not start (the port is taken), the reason is
# printed instead and the demo exits 1. Ctrl-C stops all three processes (by
# PID) and removes the directory.
set -euo pipefail

PORT="${PORT:-8080}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${BIN:-}" ]; then
    BIN="$(cd "$BIN" && pwd)"
else
    BIN="$ROOT/target/release"
    echo "building (cargo build --release --bins)…"
    (cd "$ROOT" && cargo build --release --bins)
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/slotgate-demo.XXXXXX")"
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts one demo origin and sets ORIGIN_PORT once it has said where it listens.
# (Not run in $(...): the PID must be recorded in this shell.)
start_origin() {
    local name="$1" out="$WORK/origin-$1.out" tries=0 line=""
    "$BIN/slotgate-origin" --listen 127.0.0.1:0 --name "$name" >"$out" 2>"$WORK/origin-$name.err" &
    PIDS+=("$!")
    # Wait at most 10 s (200 × 50 ms) for "listening on 127.0.0.1:PORT".
    while [ "$tries" -lt 200 ]; do
        line="$(head -n 1 "$out" 2>/dev/null || true)"
        case "$line" in
        "listening on "*)
            ORIGIN_PORT="${line##*:}"
            return 0
            ;;
        esac
        sleep 0.05
        tries=$((tries + 1))
    done
    echo "origin $name did not start:" >&2
    cat "$WORK/origin-$name.err" >&2
    return 1
}

start_origin a
PORT_A="$ORIGIN_PORT"
start_origin b
PORT_B="$ORIGIN_PORT"

CONF="$WORK/slotgate.conf"
cat >"$CONF" <<EOF
# Written by tools/demo.sh
ServerRoot "$WORK"
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
ScoreboardFile "$WORK/slotgate.scoreboard"
LogLevel info
StartServers 2
ProxyVia On
ProxyStatus On

# Run-time control and visibility, for this machine only.
<Location /balancer-manager>
  SetHandler balancer-manager
  Require local
</Location>
<Location /server-status>
  SetHandler server-status
  Require local
</Location>
<Location /metrics>
  SetHandler metrics
  Require local
</Location>
ProxyPass /balancer-manager !
ProxyPass /server-status !
ProxyPass /metrics !

# Both origins behind a balancer, health-checked every 2 s.
<Proxy balancer://demo growth=2>
  BalancerMember http://127.0.0.1:$PORT_A route=a hcmethod=GET hcinterval=2
  BalancerMember http://127.0.0.1:$PORT_B route=b hcmethod=GET hcinterval=2
</Proxy>
ProxyPass        /lb/ balancer://demo/
ProxyPassReverse /lb/ balancer://demo/

ProxyPass        /a/ http://127.0.0.1:$PORT_A/
ProxyPassReverse /a/ http://127.0.0.1:$PORT_A/
ProxyPass        /b/ http://127.0.0.1:$PORT_B/
ProxyPassReverse /b/ http://127.0.0.1:$PORT_B/
ProxyPass        /   http://127.0.0.1:$PORT_A/
ProxyPassReverse /   http://127.0.0.1:$PORT_A/
EOF

# slotgate in the background; its log (LogLevel info) goes to this terminal.
"$BIN/slotgate" -f "$CONF" &
SLOTGATE_PID="$!"
PIDS+=("$SLOTGATE_PID")

# Wait at most 30 s (600 × 50 ms) for the published phase "running" and its
# port, or for slotgate to exit (it could not start: a busy port, ...).
BOUND=""
tries=0
while [ "$tries" -lt 600 ]; do
    if ! kill -0 "$SLOTGATE_PID" 2>/dev/null; then
        wait "$SLOTGATE_PID" 2>/dev/null || true
        echo "demo: slotgate did not start on 127.0.0.1:$PORT (its message is above;" \
            "if the port is in use, choose another: PORT=9090 $0)" >&2
        exit 1
    fi
    state="$("$BIN/slotgate-top" --json -f "$CONF" 2>/dev/null || true)"
    case "$state" in
    *'"phase":"running"'*)
        ports="${state#*\"ports\":[}"
        BOUND="${ports%%[],]*}"
        [ -n "$BOUND" ] && break
        ;;
    esac
    sleep 0.05
    tries=$((tries + 1))
done
if [ -z "$BOUND" ]; then
    echo "demo: slotgate did not reach the phase running within 30 s" >&2
    exit 1
fi
PORT="$BOUND"

cat <<EOF

origin a: http://127.0.0.1:$PORT_A/    origin b: http://127.0.0.1:$PORT_B/
configuration: $CONF

open:
  http://127.0.0.1:$PORT/a/      (origin a)
  http://127.0.0.1:$PORT/b/      (origin b)
  http://127.0.0.1:$PORT/echo    (origin a echoes the request it received)
  http://127.0.0.1:$PORT/lb/     (a and b in turn, through balancer://demo)
  http://127.0.0.1:$PORT/balancer-manager   (change members live: disable one, reload /lb/)
  http://127.0.0.1:$PORT/server-status      (also ?auto and ?json)
  http://127.0.0.1:$PORT/metrics            (Prometheus text)
inspect, from another terminal:
  $BIN/slotgate-top -f $CONF
  $BIN/slotgate-top --interval 1 -f $CONF

slotgate runs until Ctrl-C, which stops everything.

EOF

wait "$SLOTGATE_PID"
