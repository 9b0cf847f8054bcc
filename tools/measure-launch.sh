#!/usr/bin/env bash
# Measures what the foundation issue reports: launch → PNG time (median of N release runs)
# and the peak RSS (VmHWM) of the launcher, GPU and content processes.
# Usage: tools/measure-launch.sh [page.html] [runs]     (builds release first)
set -euo pipefail
cd "$(dirname "$0")/.."
page=${1:-tests/pages/hello.html}
runs=${2:-5}
cargo build --release --quiet -p armature
bin=target/release/armature
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$bin" "$page" --headless --screenshot "$out/out.png"
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "launch → PNG, ${page}: runs ${times[*]} ms; median ${sorted[$(( runs / 2 ))]} ms"

# Peak RSS: hold the processes after the frame, read VmHWM of each, then stop them.
rm -f "$out/out.png"
ARMATURE_TEST_HOLD=after-frame "$bin" "$page" --headless --screenshot "$out/out.png" 2>/dev/null &
launcher=$!
for _ in $(seq 600); do [[ -f "$out/out.png" ]] && break; sleep 0.05; done
hwm() { awk '/VmHWM/ {print $2 " kB"}' "/proc/$1/status"; }
echo "peak RSS: launcher $(hwm "$launcher")"
for child in $(pgrep -P "$launcher"); do
  role=$(tr '\0' ' ' < "/proc/$child/cmdline" | grep -o -- '--role=[a-z]*' | cut -d= -f2)
  echo "peak RSS: $role $(hwm "$child")"
done
kill -TERM "$launcher"
wait "$launcher" || true
