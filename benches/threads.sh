#!/usr/bin/env bash
# Open-loop generator threads: `coldbench load --rate R --threads T` for each T of THREADS and
# each rate of RATES, interleaved (T=1, T=2, T=1, …), against a local nginx with NGINX_WORKERS
# workers. Nothing is pinned: the generator's threads and nginx's workers share every core, as
# they would on one load machine. Per rate and thread count it prints the median (min–max) over
# REPS runs of: ok requests/s, generator lag p99, elapsed time, CPU µs per request, peak RSS.
#
#   bash benches/threads.sh
#   RATES="20000 40000" THREADS="1 2" DURATION=5 REPS=3 NGINX_WORKERS=2 bash benches/threads.sh
#
# Needs: nginx (apt-get install nginx-light), GNU time, python3.
set -euo pipefail

RATES=${RATES:-10000 20000 30000 40000}
THREADS=${THREADS:-1 2}
DURATION=${DURATION:-5}
REPS=${REPS:-3}
export NGINX_WORKERS=${NGINX_WORKERS:-2}
export NGINX_CPUS=${NGINX_CPUS:-0-$(($(nproc) - 1))}
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/target/release/coldbench"

for tool in nginx /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install nginx-light time)" >&2; exit 1; }
done
(cd "$here" && cargo build --release --quiet)

# shellcheck source=benches/nginx.sh
source "$here/benches/nginx.sh"
url="http://127.0.0.1:$port/"

: >"$work/rows.jsonl"
for rate in $RATES; do
  for rep in $(seq "$REPS"); do
    for threads in $THREADS; do
      out="$work/$rate-$threads-$rep.json" timing="$work/$rate-$threads-$rep.time"
      /usr/bin/time -f '%U %S %M' -o "$timing" "$bin" load --rate "$rate" -d "${DURATION}s" --timeout 5s \
        --threads "$threads" --quiet --json "$url" >"$out" 2>/dev/null || true
      python3 - "$rate" "$threads" "$out" "$timing" >>"$work/rows.jsonl" <<'PY'
import json, sys
rate, threads, out, timing = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
user, sys_, rss_kb = (float(x) for x in open(timing).read().split()[-3:])
m = json.load(open(out))["targets"][0]["measurement"]
print(json.dumps({"rate": rate, "threads": threads, "ok_rps": m["outcomes"]["ok"] / m["elapsed_s"],
                  "ok": m["outcomes"]["ok"], "requests": m["requests"], "lag_p99_ms": m["lag"]["p99_us"] / 1e3,
                  "elapsed_s": m["elapsed_s"], "cpu_us_per_request": (user + sys_) * 1e6 / max(m["requests"], 1),
                  "rss_mb": rss_kb / 1024}))
PY
      tail -1 "$work/rows.jsonl" >&2
    done
  done
done

echo
echo "machine: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), $(nproc) cores; $(nginx -v 2>&1) with $NGINX_WORKERS workers on CPUs $NGINX_CPUS; $("$bin" --version)"
echo "nothing pinned to the generator; ${DURATION}s per run, median (min–max) of $REPS interleaved runs"
python3 - "$work/rows.jsonl" <<'PY'
import json, sys, statistics
rows = [json.loads(line) for line in open(sys.argv[1])]
def cell(values, digits):
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"
print("| rate | threads | ok req/s | lag p99 ms | elapsed s | CPU µs/req | max RSS MB |")
print("|---|---|---|---|---|---|---|")
for key in sorted({(r["rate"], r["threads"]) for r in rows}):
    group = [r for r in rows if (r["rate"], r["threads"]) == key]
    pick = lambda name: [r[name] for r in group]
    print(f"| {key[0]:.0f} | {key[1]} | {cell(pick('ok_rps'), 0)} | {cell(pick('lag_p99_ms'), 2)} | "
          f"{cell(pick('elapsed_s'), 2)} | {cell(pick('cpu_us_per_request'), 2)} | {cell(pick('rss_mb'), 1)} |")
PY
