#!/usr/bin/env bash
# A Tomcat page over AJP through slotgate and through httpd's mod_proxy_ajp (issue #16 §6).
#
# One Tomcat 10 (Debian tomcat10, its own CATALINA_BASE, an AJP connector with a secret)
# serves `hi.jsp` (a JSP: a compiled servlet, ~60-byte answer) or a static file; slotgate
# (release build, event MPM, one worker) and Apache httpd 2.4 (event MPM, Debian's apache2,
# its compiled-in defaults, no access log) proxy to it with `ProxyPass / ajp://…/ secret=…`.
# slotgate-bench loads each in interleaved rounds (keep-alive clients, generator pinned to
# CPU 0); the proxy's CPU time (all its processes, from /proc) is set against the requests
# completed: req/s and requests per proxy CPU-second, medians over the rounds.
#
#   tools/bench-ajp.sh                       # 32 clients, 5 rounds of 5 s, /hi.jsp
#   C=64 ROUNDS=3 D=3s URLPATH=/hello.txt tools/bench-ajp.sh
set -euo pipefail
C="${C:-32}"; D="${D:-5s}"; ROUNDS="${ROUNDS:-5}"; URLPATH="${URLPATH:-/hi.jsp}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(cd "$ROOT" && cargo build --release -q --bin slotgate --bin slotgate-bench)
HOME_TC=/usr/share/tomcat10
[ -f "$HOME_TC/bin/bootstrap.jar" ] || { echo "bench-ajp: apt-get install tomcat10" >&2; exit 2; }
[ -x /usr/sbin/apache2 ] || { echo "bench-ajp: apt-get install apache2" >&2; exit 2; }
W="$(mktemp -d "${TMPDIR:-/tmp}/slotgate-ajp.XXXXXX")"; chmod 755 "$W"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
TP=$(port); SP=$(port); HP=$(port)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$W/httpd.pid" ] && kill "$(cat "$W/httpd.pid")" 2>/dev/null || true
  wait 2>/dev/null || true; sleep 1; rm -rf "$W"
}
trap cleanup EXIT

# Tomcat.
B="$W/tomcat"; mkdir -p "$B"/{conf,logs,temp,work,lib,webapps/ROOT}
cp /etc/tomcat10/web.xml "$B/conf/"
[ -f "$HOME_TC/lib/ecj.jar" ] || ln -s /usr/share/java/eclipse-jdt-core.jar "$B/lib/ecj.jar"
cat >"$B/conf/server.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector protocol="AJP/1.3" address="127.0.0.1" port="$TP" secretRequired="true"
               secret="bench" maxThreads="200" maxConnections="1000" redirectPort="8443"/>
    <Engine name="Catalina" defaultHost="localhost" jvmRoute="tc1">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
XML
printf '%s' '<%@ page contentType="text/plain" session="false" %>hello from a servlet, request <%= request.getRequestURI() %>' >"$B/webapps/ROOT/hi.jsp"
printf 'hello from tomcat, a static file\n' >"$B/webapps/ROOT/hello.txt"
java -Xmx256m -XX:+UseSerialGC -Djava.awt.headless=true -Dcatalina.home="$HOME_TC" \
  -Dcatalina.base="$B" -Djava.io.tmpdir="$B/temp" \
  -cp "$HOME_TC/bin/bootstrap.jar:$HOME_TC/bin/tomcat-juli.jar" \
  org.apache.catalina.startup.Bootstrap start >"$B/logs/stdout.log" 2>&1 & PIDS+=("$!")
cping() { python3 - "$TP" <<'PY'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.sendall(b"\x12\x34\x00\x01\x0a"); ok = s.recv(5) == b"AB\x00\x01\x09"
except OSError:
    ok = False
sys.exit(0 if ok else 1)
PY
}
for _ in $(seq 600); do cping && break; sleep 0.2; done
cping || { echo "bench-ajp: Tomcat did not start" >&2; cat "$B/logs/stdout.log" >&2; exit 1; }

# slotgate.
cat >"$W/slotgate.conf" <<CONF
ServerRoot "$W"
Listen 127.0.0.1:$SP
StartServers 1
MaxKeepAliveRequests 0
ErrorLog "$W/slotgate.err"
ProxyPass / ajp://127.0.0.1:$TP/ secret=bench
CONF
"$ROOT/target/release/slotgate" -f "$W/slotgate.conf" & SG=$!; PIDS+=("$SG")

# httpd (event MPM, compiled-in defaults), mod_proxy_ajp.
M=/usr/lib/apache2/modules
mkdir -p "$W/htdocs"
cat >"$W/httpd.conf" <<CONF
ServerRoot "$W"
Listen 127.0.0.1:$HP
ServerName bench.test
PidFile "$W/httpd.pid"
ErrorLog "$W/httpd.err"
DefaultRuntimeDir "$W"
Mutex "file:$W" default
DocumentRoot "$W/htdocs"
MaxKeepAliveRequests 0
$( [ "$(id -u)" = 0 ] && printf 'User www-data\nGroup www-data\n' )
LoadModule mpm_event_module "$M/mod_mpm_event.so"
LoadModule authz_core_module "$M/mod_authz_core.so"
LoadModule proxy_module "$M/mod_proxy.so"
LoadModule proxy_ajp_module "$M/mod_proxy_ajp.so"
ProxyPass / ajp://127.0.0.1:$TP/ secret=bench
CONF
/usr/sbin/apache2 -f "$W/httpd.conf" -k start
for _ in $(seq 100); do [ -f "$W/httpd.pid" ] && break; sleep 0.1; done
sleep 1

TICK=$(getconf CLK_TCK)
# CPU ticks of a process and all its children (slotgate: supervisor and worker; httpd: all).
tree_cpu() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] && total=$((total + $(awk '{print $14+$15}' "/proc/$p/stat")))
  done
  echo "$total"
}
for url in "http://127.0.0.1:$SP$URLPATH" "http://127.0.0.1:$HP$URLPATH"; do
  curl -fsS "$url" >/dev/null || { echo "bench-ajp: $url fails" >&2; exit 1; }
done
echo "Tomcat page $URLPATH over AJP; $C keep-alive clients; $ROUNDS interleaved rounds of $D"
for r in $(seq "$ROUNDS"); do
  for t in slotgate httpd; do
    if [ "$t" = slotgate ]; then url="http://127.0.0.1:$SP$URLPATH"; root=$SG
    else url="http://127.0.0.1:$HP$URLPATH"; root=$(cat "$W/httpd.pid"); fi
    a=$(tree_cpu "$root")
    "$ROOT/target/release/slotgate-bench" load --url "$url" --concurrency "$C" --duration "$D" \
      --warmup 500ms --pin 0 --json "$W/$t-$r.json" >/dev/null 2>&1
    b=$(tree_cpu "$root")
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
rows = {}
for t in ("slotgate", "httpd"):
    rps, per_cpu, p99, errors = [], [], [], 0
    for r in range(1, rounds + 1):
        d = json.load(open(f"{w}/{t}-{r}.json"))["results"][0]["rounds"][0]
        rps.append(d["requests_per_second"])
        p99.append(d["latency_ms"]["p99"])
        errors += d["errors_total"]
        total = d["requests_total"]
        per_cpu.append(total / cpu[(t, r)] if cpu[(t, r)] > 0 else float("nan"))
    rows[t] = (statistics.median(rps), statistics.median(per_cpu), statistics.median(p99), errors,
               [round(x) for x in rps], [round(x) for x in per_cpu])
print("| proxy | req/s | req per proxy CPU-s | p99 ms | errors | req/s by round | req/CPU-s by round |")
print("|---|---:|---:|---:|---:|---|---|")
for t, (rps, pc, p99, e, rr, pr) in rows.items():
    print(f"| {t} | {rps:,.0f} | {pc:,.0f} | {p99:.2f} | {e} | {rr} | {pr} |")
s, h = rows["slotgate"], rows["httpd"]
print(f"\nslotgate / httpd: req/s x{s[0] / h[0]:.2f}, req per proxy CPU-s x{s[1] / h[1]:.2f}")
PY
