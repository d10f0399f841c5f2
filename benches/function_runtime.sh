#!/usr/bin/env bash
# Function runtime benchmarks (measure and print; nothing is asserted):
#   1. warm invocation overhead: gateway + runtime + Runtime API vs the demo function's HTTP mode
#      called directly, closed loop with one connection, p50 and p99;
#   2. 1,000 concurrent instances (Lambda's default account limit): started and served, with
#      the peak memory of coldbench and all function processes;
#   3. the busy-until-/next race: a sequential client (one connection, each request sent as soon
#      as the last answer arrived) against an on-demand function; every cold start after the
#      first is a request that came before the instance that answered had called /next again,
#      and the runtime counts every request that arrived in that gap (a warm instance may serve it).
#      ROUNDS fresh runtimes per runtime client: the demo function (aws-lambda-rust-runtime) and,
#      when installed, Python's awslambdaric.
# Cold-start overhead is `cargo bench --bench cold_start`.
#
#   bash benches/function_runtime.sh            # both parts
#   PART=warm bash benches/function_runtime.sh  # or PART=thousand, PART=race
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/target/release/coldbench"
PART=${PART:-all}
REQUESTS=${REQUESTS:-5000}
INSTANCES=${INSTANCES:-1000}
ROUNDS=${ROUNDS:-3}
(cd "$here" && cargo build --release --quiet)

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done; sleep 1; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
summary() {
  python3 - "$1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["targets"][0]; m = t["measurement"]; l = m["latency"]
print(f"requests {m['requests']} ok {m['outcomes']['ok']} p50 {l['p50_us']} us p90 {l['p90_us']} us p99 {l['p99_us']} us max {l['max_us']} us")
PY
}
p50() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["targets"][0]["measurement"]["latency"][sys.argv[2]])' "$1" "$2"; }

if [ "$PART" = all ] || [ "$PART" = warm ]; then
  echo "== warm invocation overhead ($REQUESTS requests, 1 connection, echo of a small body)"
  direct=$(free_port); runtime=$(free_port)
  PORT=$direct "$bin" function --mode http & pids+=($!)
  "$bin" runtime --port "$runtime" --provisioned 1 >"$work/runtime.log" & pids+=($!)
  wait_port "$direct"; wait_port "$runtime"
  body='{"kind":"echo"}'
  "$bin" load -c 1 -n 200 -m POST -b "$body" --quiet "http://127.0.0.1:$direct/" >/dev/null   # warm-up
  "$bin" load -c 1 -n 200 -m POST -b "$body" --quiet "http://127.0.0.1:$runtime/2015-03-31/functions/function/invocations" >/dev/null
  "$bin" load -c 1 -n "$REQUESTS" -m POST -b "$body" --quiet --json "http://127.0.0.1:$direct/" >"$work/direct.json"
  "$bin" load -c 1 -n "$REQUESTS" -m POST -b "$body" --quiet --json \
    "http://127.0.0.1:$runtime/2015-03-31/functions/function/invocations" >"$work/runtime.json"
  echo "direct (demo function, HTTP mode):        $(summary "$work/direct.json")"
  echo "through gateway + function runtime:       $(summary "$work/runtime.json")"
  for q in p50_us p99_us; do
    echo "added at ${q%_us}: $(( $(p50 "$work/runtime.json" $q) - $(p50 "$work/direct.json" $q) )) us"
  done
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done; wait "${pids[@]}" 2>/dev/null || true; pids=()
fi

if [ "$PART" = all ] || [ "$PART" = thousand ]; then
  echo "== $INSTANCES concurrent instances (each invocation sleeps 20 s, so all overlap)"
  port=$(free_port)
  "$bin" runtime --port "$port" --max-concurrency "$INSTANCES" --timeout 120s --init-timeout 120s >"$work/thousand.log" &
  runtime_pid=$!; pids+=($runtime_pid)
  wait_port "$port"
  # Sample the resident memory of coldbench and every process it started, every 0.5 s.
  (
    peak=0
    while kill -0 "$runtime_pid" 2>/dev/null; do
      rss=$(ps -o rss= --ppid "$runtime_pid" -p "$runtime_pid" 2>/dev/null | awk '{s+=$1} END {print s+0}')
      alive=$(ps -o pid= --ppid "$runtime_pid" 2>/dev/null | wc -l)
      [ "$rss" -gt "$peak" ] && peak=$rss && echo "$peak $alive" >"$work/peak"
      sleep 0.5
    done
  ) &
  sampler=$!
  started=$(date +%s.%N)
  "$bin" load --rate 2000 -n "$INSTANCES" --max-in-flight "$INSTANCES" --timeout 120s -m POST \
    -b '{"kind":"sleep","duration":"20s"}' --quiet --json \
    "http://127.0.0.1:$port/2015-03-31/functions/function/invocations" >"$work/thousand.json"
  echo "load finished after $(python3 -c "import time; print(f'{time.time() - $started:.1f}')") s"
  python3 - "$work/thousand.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["targets"][0]; m = t["measurement"]
print(f"requests {m['requests']}, outcomes {m['outcomes']}, cold {m['cold']}, warm {m['warm']}")
i = m["init"]
print(f"Init p50 {i['p50_us']/1e3:.1f} ms, p99 {i['p99_us']/1e3:.1f} ms, max {i['max_us']/1e3:.1f} ms" if i else "no Init data")
print(f"latency p50 {m['latency']['p50_us']/1e6:.2f} s, max {m['latency']['max_us']/1e6:.2f} s")
PY
  kill -INT "$runtime_pid"; wait "$runtime_pid" 2>/dev/null || true
  kill "$sampler" 2>/dev/null || true
  tail -1 "$work/thousand.log"
  read -r peak alive <"$work/peak"
  echo "peak resident memory (coldbench runtime + all function processes): $((peak / 1024)) MB with $alive processes alive"
  pids=()
fi

if [ "$PART" = all ] || [ "$PART" = race ]; then
  echo "== the busy-until-/next race ($REQUESTS sequential requests per round, $ROUNDS rounds, interleaved)"
  cat >"$work/app.py" <<'PY'
def handler(event, context):
    return event
PY
  clients=(demo)
  python3 -c 'import awslambdaric' 2>/dev/null && clients+=(awslambdaric)
  for round in $(seq "$ROUNDS"); do
    for client in "${clients[@]}"; do
      port=$(free_port)
      if [ "$client" = demo ]; then function=(); else function=(--function python3 -m awslambdaric app.handler); fi
      (cd "$work" && exec "$bin" runtime --port "$port" --keep-alive 10m "${function[@]}") >"$work/race.log" &
      runtime_pid=$!; pids+=($runtime_pid)
      wait_port "$port"
      "$bin" load -c 1 -n "$REQUESTS" -m POST -b '{"kind":"echo"}' --quiet --json \
        "http://127.0.0.1:$port/2015-03-31/functions/function/invocations" >"$work/race.json"
      kill -INT "$runtime_pid"; wait "$runtime_pid" 2>/dev/null || true; pids=()
      python3 - "$work/race.json" "$client" "$round" "$work/race.log" <<'PY'
import json, re, sys
m = json.load(open(sys.argv[1]))["targets"][0]["measurement"]
n, cold = m["requests"], m["cold"]
stop = next(l for l in open(sys.argv[4]) if l.startswith("stopped: "))
gap = int(re.search(r"; (\d+) arrived before", stop).group(1))
print(f"round {sys.argv[3]} {sys.argv[2]:>12}: {n} requests, {m['outcomes']['ok']} ok; {gap} arrived in the gap "
      f"({100 * gap / n:.2f} %); {cold} cold = 1 first + {cold - 1} started by the race")
PY
    done
  done
fi
