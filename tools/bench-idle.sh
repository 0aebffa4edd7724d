#!/usr/bin/env bash
# Memory per idle keep-alive client connection (issue #6): one slotgate worker
# (release build) in front of a slotgate-origin; N clients each send one request,
# read the answer and stay connected. Prints the worker's RSS and PSS before
# and after, and the difference per connection. Buffers are given back while a
# connection is idle, so what stays is the connection's state and the kernel's
# socket (which RSS does not count).
#
#   tools/bench-idle.sh              # 10 000 connections
#   N=20000 tools/bench-idle.sh
#
# Everything listens on 127.0.0.1; every process started is stopped by PID.
set -euo pipefail
N="${N:-10000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(cd "$ROOT" && cargo build --release -q --bin slotgate --bin slotgate-origin)
W="$(mktemp -d "${TMPDIR:-/tmp}/slotgate-idle.XXXXXX")"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
OP=$(port); SP=$(port)
cat >"$W/slotgate.conf" <<CONF
ServerRoot "$W"
Listen 127.0.0.1:$SP
StartServers 1
ErrorLog "$W/slotgate.err"
KeepAliveTimeout 300
MaxKeepAliveRequests 0
ProxyPass / http://127.0.0.1:$OP/
CONF
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
"$ROOT/target/release/slotgate-origin" --listen "127.0.0.1:$OP" >"$W/origin.log" 2>&1 & PIDS+=("$!")
"$ROOT/target/release/slotgate" -f "$W/slotgate.conf" & PIDS+=("$!")
for _ in $(seq 50); do [ -n "$(pgrep -P "${PIDS[1]}" || true)" ] && break; sleep 0.1; done
sleep 0.5
WORKER=$(pgrep -P "${PIDS[1]}")
python3 - "$SP" "$N" "$WORKER" <<'PY'
import resource, socket, sys, time
port, n, worker = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
if n + 64 > hard:
    sys.exit(f"bench-idle: {n} connections need a file limit above {n + 64} (hard limit {hard})")

def memory():
    rss = pss = 0
    for line in open(f"/proc/{worker}/smaps_rollup"):
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
        elif line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss, pss

def one_request(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += s.recv(65536)

# Warm up: the worker's first connections (buffers, pools, slab) before measuring.
warm = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
for s in warm:
    one_request(s)
time.sleep(0.5)
rss0, pss0 = memory()
conns = []
t0 = time.time()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    one_request(s)
    conns.append(s)
time.sleep(1.0)
rss1, pss1 = memory()
print(f"{n} idle keep-alive connections opened in {time.time() - t0:.1f} s")
print(f"worker RSS {rss0} KiB -> {rss1} KiB, PSS {pss0} KiB -> {pss1} KiB")
print(f"per idle connection: {(rss1 - rss0) * 1024 / n:.0f} bytes RSS, {(pss1 - pss0) * 1024 / n:.0f} bytes PSS")
for s in conns + warm:
    s.close()
PY
