#!/usr/bin/env bash
# The churn soak of issue 17: benches/soak.toml (bursts of 650 req/s, keep-alive 1 s, 10 min)
# with the release binary, sampling coldbench's RSS, open descriptors and the processes carrying
# its run marker every 30 s; after the run, counts what outlived it.
#   bash benches/soak.sh [out-dir]     (DURATION=2m for a shorter run)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
cargo build --release --quiet
args=(run --quiet --out "$out/reports")
if [[ -n "${DURATION:-}" ]]; then args+=(--duration "$DURATION"); fi
./target/release/coldbench "${args[@]}" benches/soak.toml > "$out/stdout.txt" 2> "$out/stderr.txt" &
pid=$!
start=$(date +%s)
while kill -0 "$pid" 2> /dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2> /dev/null || true)
  fds=$(ls "/proc/$pid/fd" 2> /dev/null | wc -l)
  marked=$( (grep -l COLDBENCH_RUN /proc/[0-9]*/environ 2> /dev/null || true) | wc -l)
  echo "t=$(( $(date +%s) - start ))s rss_kib=${rss:-} fds=$fds marked_processes=$marked" | tee -a "$out/samples.txt"
  sleep 30
done
status=0
wait "$pid" || status=$?
left=$( (grep -l COLDBENCH_RUN /proc/[0-9]*/environ 2> /dev/null || true) | wc -l)
echo "exit $status; processes left after the run: $left" | tee -a "$out/samples.txt"
cat "$out/stdout.txt" "$out/stderr.txt"
