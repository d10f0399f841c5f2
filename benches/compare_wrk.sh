#!/usr/bin/env bash
# Side-by-side generator cost: `coldbench load -c N` vs `wrk -c N` against the same local nginx.
#
# nginx (1 worker, access_log off, 11-byte file, keep-alive) is pinned to core 0 and each
# generator to core 1, as in docs/reference/load-generators.md §6. For each tool it prints
# requests/s, generator CPU µs per request (user + sys over requests) and peak RSS, the median
# of REPS runs, and coldbench/wrk ratios.
#
#   bash benches/compare_wrk.sh                 # 3 × 10 s per tool, 50 connections
#   CONNECTIONS=50 DURATION=10 REPS=3 bash benches/compare_wrk.sh
#   LONG=10000000 bash benches/compare_wrk.sh   # also: peak RSS over 10 million requests
#
# Needs: wrk, nginx (Debian: apt-get install wrk nginx-light), taskset, GNU time, python3.
set -euo pipefail

CONNECTIONS=${CONNECTIONS:-50}
DURATION=${DURATION:-10}
REPS=${REPS:-3}
LONG=${LONG:-0}
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/target/release/coldbench"

for tool in wrk nginx taskset /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk nginx-light time)" >&2; exit 1; }
done
(cd "$here" && cargo build --release --quiet)

# shellcheck source=benches/nginx.sh
source "$here/benches/nginx.sh"

# measure NAME COMMAND...: prints "requests cpu_seconds max_rss_kb"
measure() {
  local log="$work/$1.out" timing="$work/$1.time"; shift
  /usr/bin/time -f '%U %S %M' -o "$timing" taskset -c 1 "$@" >"$log" 2>&1
  read -r user sys rss <"$timing"
  local requests
  case "$1" in
    wrk) requests=$(awk '/requests in/ {print $1}' "$log") ;;
    *) requests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["targets"][0]["measurement"]["requests"])' "$log") ;;
  esac
  echo "$requests $(python3 -c "print($user + $sys)") $rss"
}

declare -A rps cpu mem
for tool in wrk coldbench; do
  rows=()
  for rep in $(seq "$REPS"); do
    if [ "$tool" = wrk ]; then
      row=$(measure "wrk-$rep" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$port/")
    else
      row=$(measure "cb-$rep" "$bin" load -c "$CONNECTIONS" -d "${DURATION}s" --quiet --json "http://127.0.0.1:$port/")
    fi
    rows+=("$row")
    echo "$tool run $rep: requests cpu_s max_rss_kb = $row" >&2
  done
  read -r rps[$tool] cpu[$tool] mem[$tool] < <(printf '%s\n' "${rows[@]}" | python3 -c '
import sys, statistics
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
d = float(sys.argv[1])
print(statistics.median(r[0] / d for r in rows), statistics.median(r[1] * 1e6 / r[0] for r in rows), statistics.median(r[2] for r in rows) / 1024)
' "$DURATION")
done

echo
echo "machine: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), $(nproc) cores; $(nginx -v 2>&1); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2); $("$bin" --version)"
echo "nginx pinned to core 0, generator to core 1, $CONNECTIONS connections, ${DURATION}s, median of $REPS"
printf '%-10s %12s %16s %12s\n' tool 'req/s' 'CPU µs/req' 'max RSS MB'
for tool in wrk coldbench; do
  printf '%-10s %12.0f %16.2f %12.1f\n' "$tool" "${rps[$tool]}" "${cpu[$tool]}" "${mem[$tool]}"
done
python3 -c "print(f'ratio coldbench/wrk: CPU per request {float(\"${cpu[coldbench]}\") / float(\"${cpu[wrk]}\"):.2f}x, req/s {float(\"${rps[coldbench]}\") / float(\"${rps[wrk]}\"):.2f}x')"

if [ "$LONG" -gt 0 ]; then
  row=$(measure long "$bin" load -c "$CONNECTIONS" -n "$LONG" --quiet --json "http://127.0.0.1:$port/")
  read -r requests cpu_s rss <<<"$row"
  echo "coldbench load -c $CONNECTIONS -n $LONG: $requests requests, max RSS $((rss / 1024)) MB, CPU $(python3 -c "print(f'{$cpu_s * 1e6 / $requests:.2f}')") µs/req"
fi
