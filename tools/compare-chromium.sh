#!/usr/bin/env bash
# Compares launch → PNG time of Armature (release) with Chromium's headless screenshot on
# every sample page: median of N runs each, and the ratio armature/chromium (goal ≤ 0.25).
# Not run in CI. Needs Debian's chromium: sudo apt-get install chromium
# Usage: tools/compare-chromium.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$chromium" ]]; then
  echo "chromium not found; install Debian's package: sudo apt-get install chromium" >&2
  exit 2
fi
cargo build --release --quiet -p armature
bin=target/release/armature
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Median wall time in ms of a command run $runs times.
median_ms() {
  local times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
  done
  local sorted=($(printf '%s\n' "${times[@]}" | sort -n))
  echo "${sorted[$(( runs / 2 ))]}"
}

printf '%-22s %12s %12s %8s\n' page "armature ms" "chromium ms" ratio
for page in tests/pages/*.html; do
  abs=$(realpath "$page")
  a=$(median_ms "$bin" "$page" --headless --screenshot "$out/a.png")
  c=$(median_ms "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
      --window-size=1024,768 --disable-background-networking --disable-component-update \
      --disable-sync --no-first-run --user-data-dir="$out/profile" \
      --screenshot="$out/c.png" "file://$abs")
  printf '%-22s %12s %12s %8s\n' "$(basename "$page")" "$a" "$c" "$(awk -v a="$a" -v c="$c" 'BEGIN { printf "%.3f", a / c }')"
done
