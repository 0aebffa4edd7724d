#!/usr/bin/env bash
# php-fpm hello world through three proxies to the same pool (issue #16 §6):
# slotgate (fcgi://, enablereuse=on), nginx (fastcgi_pass, keepalive) and httpd
# (mod_proxy_fcgi, enablereuse=on), one worker process each, wrk pinned to CPU 0,
# interleaved rounds. One php-fpm master with three identical pools, one per proxy, each
# with more children than there are clients: a kept FastCGI connection holds a php-fpm
# child, so proxies sharing one pool would starve each other. Prints req/s and requests per proxy CPU-second (utime+stime
# of the proxy's processes from /proc, php-fpm's not counted).
#
#   tools/bench-fcgi.sh                 # 16 clients, 3 rounds of 5 s
#   C=32 CHILDREN=40 ROUNDS=5 D=10 tools/bench-fcgi.sh
#
# Needs php8.2-fpm, nginx, apache2 and wrk. Everything listens on 127.0.0.1; every
# process started is stopped by PID on exit.
set -euo pipefail
C="${C:-16}"; D="${D:-5}"; ROUNDS="${ROUNDS:-3}"; CHILDREN="${CHILDREN:-20}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(cd "$ROOT" && cargo build --release -q --bin slotgate)
W="$(mktemp -d "${TMPDIR:-/tmp}/slotgate-fcgi.XXXXXX")"; chmod 755 "$W"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
FS=$(port); FN=$(port); FH=$(port); NP=$(port); HP=$(port); SP=$(port)
mkdir -p "$W/www" && chmod 755 "$W/www"
printf '<?php echo "hello world\\n";\n' >"$W/www/hello.php"
cat >"$W/fpm.conf" <<CONF
[global]
pid = $W/fpm.pid
error_log = $W/fpm.log
daemonize = no
[slotgate]
listen = 127.0.0.1:$FS
pm = static
pm.max_children = $CHILDREN
[nginx]
listen = 127.0.0.1:$FN
pm = static
pm.max_children = $CHILDREN
[httpd]
listen = 127.0.0.1:$FH
pm = static
pm.max_children = $CHILDREN
CONF
cat >"$W/nginx.conf" <<CONF
worker_processes 1; pid $W/nginx.pid; error_log $W/nginx.err; daemon off;
events { worker_connections 4096; }
http { access_log off;
  upstream fpm { server 127.0.0.1:$FN; keepalive $C; }
  server { listen 127.0.0.1:$NP;
    location ~ \.php\$ { fastcgi_pass fpm; fastcgi_keep_conn on;
      fastcgi_param SCRIPT_FILENAME $W/www\$fastcgi_script_name;
      fastcgi_param REQUEST_METHOD \$request_method; fastcgi_param QUERY_STRING \$query_string; } } }
CONF
mods=/usr/lib/apache2/modules
cat >"$W/httpd.conf" <<CONF
ServerRoot "$W"
Listen 127.0.0.1:$HP
ServerName bench.test
PidFile "$W/httpd.pid"
ErrorLog "$W/httpd.err"
DefaultRuntimeDir "$W"
Mutex "file:$W" default
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_fcgi_module $mods/mod_proxy_fcgi.so
StartServers 1
ServerLimit 1
ThreadsPerChild 64
MaxRequestWorkers 64
$( [ "$(id -u)" = 0 ] && printf 'User www-data\nGroup www-data\n' )
ProxyPass /hello.php fcgi://127.0.0.1:$FH$W/www/hello.php enablereuse=on
CONF
cat >"$W/slotgate.conf" <<CONF
ServerRoot "$W"
Listen 127.0.0.1:$SP
StartServers 1
ErrorLog "$W/slotgate.err"
ProxyPass /hello.php fcgi://127.0.0.1:$FS$W/www/hello.php enablereuse=on
CONF
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi; }
trap cleanup EXIT
/usr/sbin/php-fpm8.2 -n -R --nodaemonize -y "$W/fpm.conf" & PIDS+=("$!")
nginx -c "$W/nginx.conf" & PIDS+=("$!")
/usr/sbin/apache2 -f "$W/httpd.conf" -DFOREGROUND & PIDS+=("$!")
"$ROOT/target/release/slotgate" -f "$W/slotgate.conf" & PIDS+=("$!")
sleep 2
for p in $NP $HP $SP; do
  curl -sf "http://127.0.0.1:$p/hello.php" | grep -q "hello world" || { echo "port $p does not answer"; exit 1; }
done
tick=$(getconf CLK_TCK)
# CPU ticks of a process and its children (the workers that serve).
cpu() { local t=0 p; for p in "$1" $(pgrep -P "$1" || true); do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
run() { # name port pid
  local a b out rps
  a=$(cpu "$3"); out=$(taskset -c 0 wrk -t1 -c"$C" -d"${D}s" "http://127.0.0.1:$2/hello.php"); b=$(cpu "$3")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  bad=$(echo "$out" | awk '/Non-2xx/ {print $5} /Socket errors/ {print "socket-errors"}' | tr '\n' ' ')
  python3 -c "r=$rps; c=max(($b-$a)/$tick, 1e-9); print(f'$1 c=$C: {r:9.0f} req/s  {r*$D/c:9.0f} req per proxy CPU-second  ${bad:+(non-2xx or errors: $bad)}')"
}
for r in $(seq "$ROUNDS"); do
  echo "round $r"
  run slotgate "$SP" "${PIDS[3]}"; run nginx "$NP" "${PIDS[1]}"; run httpd "$HP" "${PIDS[2]}"
done
