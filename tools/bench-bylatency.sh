#!/usr/bin/env bash
# bylatency against byrequests with one slow member (issue #9): two slotgate-origins,
# one answering after FAST ms and one after SLOW ms (default 2 and 10: 5x slower),
# behind two slotgate instances (one worker each) that differ only in lbmethod;
# slotgate-bench loads both in interleaved rounds. Prints req/s and latency
# percentiles per method, and the share of requests the slow member got (from
# each instance's scoreboard).
#
#   tools/bench-bylatency.sh                   # 32 clients, 3 rounds of 5 s
#   C=64 FAST=1 SLOW=20 tools/bench-bylatency.sh
set -euo pipefail
C="${C:-32}"; D="${D:-5s}"; ROUNDS="${ROUNDS:-3}"; FAST="${FAST:-2}"; SLOW="${SLOW:-10}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(cd "$ROOT" && cargo build --release -q --bin slotgate --bin slotgate-bench --bin slotgate-origin --bin slotgate-top)
W="$(mktemp -d "${TMPDIR:-/tmp}/slotgate-bylatency.XXXXXX")"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
OF=$(port); OS=$(port); PL=$(port); PR=$(port)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
"$ROOT/target/release/slotgate-origin" --listen "127.0.0.1:$OF" --name fast --delay "$FAST" >/dev/null & PIDS+=("$!")
"$ROOT/target/release/slotgate-origin" --listen "127.0.0.1:$OS" --name slow --delay "$SLOW" >/dev/null & PIDS+=("$!")
for m in bylatency byrequests; do
  p=$PL; [ "$m" = byrequests ] && p=$PR
  mkdir -p "$W/$m"
  cat >"$W/$m/slotgate.conf" <<CONF
ServerRoot "$W/$m"
Listen 127.0.0.1:$p
StartServers 1
MaxKeepAliveRequests 0
ErrorLog "$W/$m/error.log"
<Proxy balancer://b>
  BalancerMember http://127.0.0.1:$OF
  BalancerMember http://127.0.0.1:$OS
  ProxySet lbmethod=$m
</Proxy>
ProxyPass / balancer://b/
CONF
  "$ROOT/target/release/slotgate" -f "$W/$m/slotgate.conf" & PIDS+=("$!")
done
sleep 1
"$ROOT/target/release/slotgate-bench" load --target "bylatency=http://127.0.0.1:$PL/" \
  --target "byrequests=http://127.0.0.1:$PR/" --concurrency "$C" --duration "$D" \
  --rounds "$ROUNDS" --warmup 1s
for m in bylatency byrequests; do
  "$ROOT/target/release/slotgate-top" --json -f "$W/$m/slotgate.conf" | python3 -c "
import json, sys
d = json.load(sys.stdin)
ms = {m['url']: m['elected'] for m in d['members']}
total = sum(ms.values())
slow = sum(v for k, v in ms.items() if k.endswith(':$OS'))
print(f'$m: slow member ($SLOW ms) got {slow} of {total} requests ({100 * slow / max(total, 1):.1f} %)')"
done
