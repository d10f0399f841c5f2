#!/usr/bin/env bash
# Open loop side by side: `coldbench load --rate R` vs `oha -q R --latency-correction` against the
# same local nginx, at each rate of RATES, interleaved (coldbench, oha, coldbench, oha, …).
#
# nginx (1 worker, access_log off, 11-byte file, keep-alive) is pinned to core 0 and each
# generator to core 1, as in docs/reference/load-generators.md §6. Per tool and rate it prints
# the median over REPS runs of: requests/s achieved, generator CPU µs per request (user + sys over
# requests), peak RSS; for coldbench also the generator lag p99, the ok share, host_error
# (requests it could not send within their timeout) and the run's elapsed time.
#
#   bash benches/compare_open.sh                               # 10k…100k req/s, 3 × 5 s each
#   RATES="10000 45000" DURATION=10 REPS=5 bash benches/compare_open.sh
#
# Needs: oha (cargo install oha), nginx (apt-get install nginx-light), taskset, GNU time, python3.
set -euo pipefail

RATES=${RATES:-10000 30000 50000 70000 100000}
DURATION=${DURATION:-5}
REPS=${REPS:-3}
OHA_CONNECTIONS=${OHA_CONNECTIONS:-200}
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/target/release/coldbench"
oha=$(command -v oha || echo "$HOME/.cargo/bin/oha")

for tool in "$oha" nginx taskset /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (cargo install oha; apt-get install nginx-light time)" >&2; exit 1; }
done
(cd "$here" && cargo build --release --quiet)

# shellcheck source=benches/nginx.sh
source "$here/benches/nginx.sh"
url="http://127.0.0.1:$port/"

# run TOOL RATE REP: appends one JSON line of figures to $work/rows.jsonl
run() {
  local tool=$1 rate=$2 rep=$3 out="$work/$1-$2-$3.json" timing="$work/$1-$2-$3.time"
  if [ "$tool" = coldbench ]; then
    /usr/bin/time -f '%U %S %M %e' -o "$timing" taskset -c 1 "$bin" load --rate "$rate" -d "${DURATION}s" \
      --timeout 5s --quiet --json "$url" >"$out" 2>/dev/null || true
  else
    /usr/bin/time -f '%U %S %M %e' -o "$timing" taskset -c 1 "$oha" -q "$rate" -z "${DURATION}s" \
      -c "$OHA_CONNECTIONS" --latency-correction --no-tui --output-format json "$url" >"$out" 2>/dev/null || true
  fi
  python3 - "$tool" "$rate" "$out" "$timing" "$DURATION" >>"$work/rows.jsonl" <<'PY'
import json, sys
tool, rate, out, timing, duration = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
user, sys_, rss_kb, wall = (float(x) for x in open(timing).read().split()[-4:])
doc = json.load(open(out))
row = {"tool": tool, "rate": rate, "rss_mb": rss_kb / 1024, "wall_s": wall}
if tool == "coldbench":
    m = doc["targets"][0]["measurement"]
    requests = m["requests"]
    row.update(requests=requests, rps=m["outcomes"]["ok"] / m["elapsed_s"], ok=m["outcomes"]["ok"],
               host_error=m["outcomes"]["host_error"], lag_p99_ms=m["lag"]["p99_us"] / 1e3,
               elapsed_s=m["elapsed_s"])
else:
    summary = doc["summary"]
    requests = sum(doc.get("statusCodeDistribution", {}).values())
    row.update(requests=requests, rps=requests / duration, ok=requests,
               success_rate=summary.get("successRate"))
row["cpu_us_per_request"] = (user + sys_) * 1e6 / max(requests, 1)
print(json.dumps(row))
PY
}

: >"$work/rows.jsonl"
for rate in $RATES; do
  for rep in $(seq "$REPS"); do
    for tool in coldbench oha; do
      run "$tool" "$rate" "$rep"
      echo "$(tail -1 "$work/rows.jsonl")" >&2
    done
  done
done

echo
echo "machine: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), $(nproc) cores; $(nginx -v 2>&1); $("$oha" --version); $("$bin" --version)"
echo "nginx pinned to core 0, generator to core 1, ${DURATION}s per run, median (min–max) of $REPS interleaved runs; oha -c $OHA_CONNECTIONS --latency-correction"
python3 - "$work/rows.jsonl" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def cell(values, fmt):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"
print("| rate | tool | ok req/s | CPU µs/req | lag p99 ms | ok share | host_error | elapsed s | max RSS MB |")
print("|---|---|---|---|---|---|---|---|---|")
for rate in sorted({r["rate"] for r in rows}):
    for tool in ("coldbench", "oha"):
        rs = [r for r in rows if r["rate"] == rate and r["tool"] == tool]
        if not rs:
            continue
        lag = cell([r["lag_p99_ms"] for r in rs], "{:.2f}") if tool == "coldbench" else "—"
        ok = cell([r["ok"] / max(r["requests"], 1) for r in rs], "{:.3f}")
        he = cell([r["host_error"] for r in rs], "{:.0f}") if tool == "coldbench" else "—"
        el = cell([r["elapsed_s"] for r in rs], "{:.2f}") if tool == "coldbench" else cell([r["wall_s"] for r in rs], "{:.2f}")
        print(f"| {rate:.0f} | {tool} | {cell([r['rps'] for r in rs], '{:.0f}')} | {cell([r['cpu_us_per_request'] for r in rs], '{:.2f}')} | {lag} | {ok} | {he} | {el} | {cell([r['rss_mb'] for r in rs], '{:.1f}')} |")
for rate in sorted({r["rate"] for r in rows}):
    c = [r["cpu_us_per_request"] for r in rows if r["rate"] == rate and r["tool"] == "coldbench"]
    o = [r["cpu_us_per_request"] for r in rows if r["rate"] == rate and r["tool"] == "oha"]
    if c and o:
        print(f"rate {rate:.0f}: CPU per request coldbench/oha {statistics.median(c) / statistics.median(o):.2f}x")
PY
