# Sourced by the side-by-side benchmarks: a temporary folder ($work, removed on exit) and a local
# nginx pinned to core 0 (1 worker, access_log off, an 11-byte file, keep-alive), listening on
# 127.0.0.1:$port, as in docs/reference/load-generators.md §6. NGINX_WORKERS=N NGINX_CPUS=0-1
# give it more workers on more cores (benches/threads.sh).
work=$(mktemp -d)
trap 'kill "$(cat "$work/nginx.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/html" && printf 'hello world' > "$work/html/index.html"
cat > "$work/nginx.conf" <<CONF
worker_processes ${NGINX_WORKERS:-1};
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_body_temp_path $work;
  server { listen 127.0.0.1:$port; root $work/html; }
}
CONF
taskset -c "${NGINX_CPUS:-0}" nginx -c "$work/nginx.conf" -g 'daemon off;' &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.05; done
