#!/usr/bin/env bash
# A first side-by-side measurement (issue #6, before slotgate-bench compare exists):
# nginx and slotgate, one worker each, in front of the same two nginx origins
# (100-byte body), keep-alive to the origins, wrk pinned to CPU 0, interleaved
# rounds. Prints req/s and requests per proxy CPU-second (from /proc/PID/stat).
#
#   tools/bench-vs-nginx.sh            # 64 clients, 3 rounds of 5 s
#   C=256 ROUNDS=5 D=10 tools/bench-vs-nginx.sh
#
# Needs nginx and wrk (apt-get install nginx wrk). Everything listens on 127.0.0.1
# and every process started is stopped by PID on exit.
set -euo pipefail
C="${C:-64}"; D="${D:-5}"; ROUNDS="${ROUNDS:-3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(cd "$ROOT" && cargo build --release -q --bin slotgate)
W="$(mktemp -d "${TMPDIR:-/tmp}/slotgate-vs-nginx.XXXXXX")"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
O1=$(port); O2=$(port); NP=$(port); SP=$(port)
BODY=$(printf '%0100d' 0)
cat >"$W/origin.conf" <<CONF
worker_processes 1; pid $W/origin.pid; error_log $W/origin.err; daemon off;
events { worker_connections 4096; }
http { access_log off;
  server { listen 127.0.0.1:$O1; location / { return 200 "$BODY"; } }
  server { listen 127.0.0.1:$O2; location / { return 200 "$BODY"; } } }
CONF
cat >"$W/proxy.conf" <<CONF
worker_processes 1; pid $W/proxy.pid; error_log $W/proxy.err; daemon off;
events { worker_connections 4096; }
http { access_log off;
  upstream b { server 127.0.0.1:$O1; server 127.0.0.1:$O2; keepalive 64; }
  server { listen 127.0.0.1:$NP; location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
cat >"$W/slotgate.conf" <<CONF
ServerRoot "$W"
Listen 127.0.0.1:$SP
StartServers 1
ErrorLog "$W/slotgate.err"
<Proxy balancer://b>
  BalancerMember http://127.0.0.1:$O1
  BalancerMember http://127.0.0.1:$O2
</Proxy>
ProxyPass / balancer://b/
CONF
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
nginx -c "$W/origin.conf" & PIDS+=("$!")
nginx -c "$W/proxy.conf" & PIDS+=("$!")
"$ROOT/target/release/slotgate" -f "$W/slotgate.conf" & PIDS+=("$!")
sleep 1
NW=$(pgrep -P "$(cat "$W/proxy.pid")"); SW=$(pgrep -P "${PIDS[2]}")
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
run() { # name port pid
  local a b out rps
  a=$(cpu "$3"); out=$(taskset -c 0 wrk -t1 -c"$C" -d"${D}s" "http://127.0.0.1:$2/"); b=$(cpu "$3")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  python3 -c "r=$rps; c=($b-$a)/$tick; print(f'$1 c=$C: {r:9.0f} req/s  {r*$D/c:9.0f} req per proxy CPU-second')"
}
for r in $(seq "$ROUNDS"); do
  echo "round $r"; run nginx "$NP" "$NW"; run slotgate "$SP" "$SW"
done
