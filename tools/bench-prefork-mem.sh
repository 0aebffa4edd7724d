#!/usr/bin/env bash
# What an idle prefork worker costs: starts slotgate (and, with APACHE=1, httpd) in
# prefork mode with WORKERS processes all started, serves REQUESTS requests one
# connection each (so the workers have served and gone idle again), then reads
# /proc/PID/smaps_rollup of every worker: PSS, RSS, private dirty and anonymous
# memory, as the mean over the workers (and the largest), plus the supervisor.
#
#   tools/bench-prefork-mem.sh                      # 32 workers, 500 requests
#   WORKERS=256 REQUESTS=2000 APACHE=1 tools/bench-prefork-mem.sh
#   SLOTGATE=/path/to/another/slotgate tools/bench-prefork-mem.sh   # e.g. a build of main
#
# Needs curl. Uses release builds of slotgate and slotgate-origin, 127.0.0.1 only;
# every process it starts is stopped by PID on exit.
set -euo pipefail
WORKERS="${WORKERS:-32}"
REQUESTS="${REQUESTS:-500}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release"
(cd "$ROOT" && cargo build --release --bins -q)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/slotgate-pmem.XXXXXX")"
chmod 755 "$WORK"
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

# children PARENT: the pids of PARENT's children, waiting (bounded) for WORKERS of them.
children() {
    local n=0
    for _ in $(seq 600); do
        n="$(pgrep -P "$1" | wc -l || true)"
        [ "$n" -ge "$WORKERS" ] && break
        sleep 0.05
    done
    pgrep -P "$1" || true
}

# report NAME SUPERVISOR: the smaps_rollup figures of SUPERVISOR's children.
report() {
    local name=$1 sup=$2
    children "$sup" >"$WORK/kids"
    awk -v name="$name" -v n="$(wc -l <"$WORK/kids")" '
        FNR == 1 { f++ }
        /^Pss:/ { pss += $2; if ($2 > maxpss) maxpss = $2 }
        /^Rss:/ { rss += $2 }
        /^Private_Dirty:/ { pd += $2; if ($2 > maxpd) maxpd = $2 }
        /^Anonymous:/ { anon += $2 }
        END {
            printf "%s: %d workers: per worker PSS %6.0f KiB (max %d), RSS %6.0f KiB, private dirty %5.0f KiB (max %d), anonymous %5.0f KiB; all workers PSS %.1f MiB\n",
                name, f, pss / f, maxpss, rss / f, pd / f, maxpd, anon / f, pss / 1024
        }' $(sed 's|.*|/proc/&/smaps_rollup|' "$WORK/kids")
    awk -v name="$name" '/^Pss:/ { printf "%s: supervisor PSS %d KiB\n", name, $2 }' "/proc/$sup/smaps_rollup"
}

# serve PORT: REQUESTS requests, one connection each.
serve() {
    curl -s -o /dev/null -H 'Connection: close' "http://127.0.0.1:$1/bytes/1000?[1-$REQUESTS]"
}

mkdir -p "$WORK/sg"
cat >"$WORK/sg/slotgate.conf" <<CONF
ServerRoot "$WORK/sg"
MPM prefork
Listen 127.0.0.1:0
ServerLimit $WORKERS
StartServers $WORKERS
MinSpareServers $WORKERS
MaxSpareServers $((WORKERS + 1))
MaxRequestWorkers $WORKERS
ErrorLog "$WORK/sg/error.log"
LogLevel info
ProxyPass / http://127.0.0.1:$OPORT/
CONF
"${SLOTGATE:-$BIN/slotgate}" -f "$WORK/sg/slotgate.conf" &
SPID=$!
PIDS=("$SPID" "${PIDS[@]}")
PORT=""
for _ in $(seq 200); do
    PORT="$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/sg/error.log" 2>/dev/null | head -n1 || true)"
    [ -n "$PORT" ] && break
    sleep 0.05
done
[ -n "$PORT" ] || { echo "slotgate did not start" >&2; cat "$WORK/sg/error.log" >&2; exit 1; }
children "$SPID" >/dev/null
sleep 1 # the workers reach their idle wait
report "slotgate, started" "$SPID"
serve "$PORT"
report "slotgate, just after $REQUESTS requests" "$SPID"
sleep 3 # idle prefork workers give memory back after a second without a connection
report "slotgate, idle 3 s after them" "$SPID"

if [ "${APACHE:-0}" = 1 ]; then
    mods=/usr/lib/apache2/modules
    mkdir -p "$WORK/httpd"
    {
        echo "ServerRoot \"$WORK/httpd\""
        echo "Listen 127.0.0.1:0"
        echo "ServerName bench.test"
        echo "PidFile \"$WORK/httpd/httpd.pid\""
        echo "ErrorLog \"$WORK/httpd/error.log\""
        echo "DefaultRuntimeDir \"$WORK/httpd\""
        [ "$(id -u)" = 0 ] && echo "User www-data" && echo "Group www-data"
        for m in mpm_prefork authz_core proxy proxy_http; do
            echo "LoadModule ${m}_module \"$mods/mod_$m.so\""
        done
        echo "ServerLimit $WORKERS"
        echo "StartServers $WORKERS"
        echo "MinSpareServers $WORKERS"
        echo "MaxSpareServers $((WORKERS + 1))"
        echo "MaxRequestWorkers $WORKERS"
        echo "ProxyPass / http://127.0.0.1:$OPORT/"
    } >"$WORK/httpd/httpd.conf"
    # httpd prints no port for port 0: give it a free one.
    HPORT="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
    sed -i "s/^Listen 127.0.0.1:0/Listen 127.0.0.1:$HPORT/" "$WORK/httpd/httpd.conf"
    /usr/sbin/apache2 -f "$WORK/httpd/httpd.conf" -DFOREGROUND &
    HPID=$!
    PIDS=("$HPID" "${PIDS[@]}")
    children "$HPID" >/dev/null
    sleep 1
    report "httpd, started" "$HPID"
    serve "$HPORT"
    report "httpd, just after $REQUESTS requests" "$HPID"
    sleep 3
    report "httpd, idle 3 s after them" "$HPID"
fi
