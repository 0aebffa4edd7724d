#!/usr/bin/env bash
# Regression benchmark (issue #6): a few minutes, one number to watch. Two origins
# (nginx when installed, else slotgate-origin) behind a 2-member byrequests
# balancer in slotgate (release build, event MPM, one worker, keep-alive to the
# origins); slotgate-bench loads the first origin directly and through slotgate,
# in interleaved rounds, and prints slotgate's req/s and p99 as a ratio to the
# origin served directly, plus requests per proxy CPU-second.
#
#   tools/bench-regress.sh                  # 64 clients, 5 rounds of 3 s
#   C=256 ROUNDS=3 D=5s tools/bench-regress.sh
#
# Compare the ratio before and after a change, on the same machine.
set -euo pipefail
C="${C:-64}"; D="${D:-3s}"; ROUNDS="${ROUNDS:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(cd "$ROOT" && cargo build --release -q --bin slotgate --bin slotgate-bench --bin slotgate-origin)
W="$(mktemp -d "${TMPDIR:-/tmp}/slotgate-regress.XXXXXX")"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
O1=$(port); O2=$(port); SP=$(port)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
NGINX="$(command -v nginx || true)"; [ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
if [ -n "$NGINX" ]; then
  BODY=$(printf '%0100d' 0)
  cat >"$W/origin.conf" <<CONF
worker_processes 1; pid $W/origin.pid; error_log $W/origin.err; daemon off;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$O1; location / { return 200 "$BODY"; } }
  server { listen 127.0.0.1:$O2; location / { return 200 "$BODY"; } } }
CONF
  "$NGINX" -c "$W/origin.conf" & PIDS+=("$!")
  ORIGIN="nginx (100-byte body)"; PATH_="/"
else
  "$ROOT/target/release/slotgate-origin" --listen "127.0.0.1:$O1" >/dev/null & PIDS+=("$!")
  "$ROOT/target/release/slotgate-origin" --listen "127.0.0.1:$O2" >/dev/null & PIDS+=("$!")
  ORIGIN="slotgate-origin (nginx not installed)"; PATH_="/bytes/100"
fi
cat >"$W/slotgate.conf" <<CONF
ServerRoot "$W"
Listen 127.0.0.1:$SP
StartServers 1
MaxKeepAliveRequests 0
ErrorLog "$W/slotgate.err"
<Proxy balancer://b>
  BalancerMember http://127.0.0.1:$O1
  BalancerMember http://127.0.0.1:$O2
</Proxy>
ProxyPass / balancer://b/
CONF
"$ROOT/target/release/slotgate" -f "$W/slotgate.conf" & SG=$!; PIDS+=("$SG")
for _ in $(seq 50); do [ -n "$(pgrep -P "$SG" || true)" ] && break; sleep 0.1; done
sleep 0.5
WORKER=$(pgrep -P "$SG")
TICK=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$WORKER/stat"; }
echo "origin: $ORIGIN; $C keep-alive clients; $ROUNDS interleaved rounds of $D; generator on CPU 0"
# Proxy CPU is measured over the whole command (warm-up included) and set
# against every request the generator completed (requests_total).
for r in $(seq "$ROUNDS"); do
  for t in direct slotgate; do
    if [ "$t" = direct ]; then url="http://127.0.0.1:$O1$PATH_"; else url="http://127.0.0.1:$SP$PATH_"; fi
    a=$(cpu)
    "$ROOT/target/release/slotgate-bench" load --url "$url" --concurrency "$C" --duration "$D" \
      --warmup 500ms --pin 0 --json "$W/$t-$r.json" >/dev/null 2>&1
    b=$(cpu)
    echo "$t $r $a $b" >>"$W/cpu.txt"
  done
done
python3 - "$W" "$ROUNDS" "$TICK" <<'PY'
import json, statistics, sys
w, rounds, tick = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cpu = {}
for line in open(f"{w}/cpu.txt"):
    t, r, a, b = line.split()
    cpu[(t, int(r))] = (int(b) - int(a)) / tick
def run(t, r):
    d = json.load(open(f"{w}/{t}-{r}.json"))
    return d["results"][0]["rounds"][0]
rows = {}
for t in ("direct", "slotgate"):
    rps, p99, per_cpu, errors = [], [], [], 0
    for r in range(1, rounds + 1):
        x = run(t, r)
        rps.append(x["requests_per_second"])
        p99.append(x["latency_ms"]["p99"])
        errors += x["errors_total"]
        if t == "slotgate" and cpu[(t, r)] > 0:
            per_cpu.append(x["requests_total"] / cpu[(t, r)])
    rows[t] = (statistics.median(rps), min(rps), max(rps), statistics.median(p99), per_cpu, errors)
for t, (m, lo, hi, p99, per_cpu, errors) in rows.items():
    extra = f"  {statistics.median(per_cpu):9.0f} req per proxy CPU-second" if per_cpu else ""
    print(f"{t:9} {m:9.0f} req/s ({lo:.0f}..{hi:.0f})  p99 {p99:6.2f} ms  errors {errors}{extra}")
d, s = rows["direct"], rows["slotgate"]
print(f"ratio slotgate/direct: req/s {s[0] / d[0]:.3f}, p99 {s[3] / d[3]:.2f}x")
PY
