#!/usr/bin/env bash
# Booth check: runs glassbox-viz as a kiosk (the attract loop playing story mode by itself) on a
# virtual display for MINUTES and prints its resident memory and CPU time once a minute, then the
# growth from the first minute to the last. A booth runs for hours: memory must stay flat.
#
#   scripts/kiosk-soak.sh CHECKPOINT_DIR [MINUTES]      (default 60; needs Xvfb, and a build)
#
# Environment: VIZ (default build/glassbox-viz).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
VIZ=${VIZ:-$root/build/glassbox-viz}
ckpt=${1:?usage: scripts/kiosk-soak.sh CHECKPOINT_DIR [MINUTES]}
minutes=${2:-60}
[[ -x "$VIZ" ]] || { echo "kiosk-soak: no glassbox-viz at $VIZ (build it, or set VIZ=path)" >&2; exit 1; }
[[ -d "$ckpt" ]] || { echo "kiosk-soak: $ckpt is not a checkpoint directory" >&2; exit 1; }
command -v Xvfb >/dev/null || { echo "kiosk-soak: Xvfb not found (apt-get install xvfb)" >&2; exit 1; }

display=:$((90 + RANDOM % 100))
Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $viz $xvfb 2>/dev/null || true' EXIT
sleep 1
DISPLAY=$display "$VIZ" "$ckpt" --kiosk --idle-seconds 2 >/dev/null 2>&1 &
viz=$!
ticks=$(getconf CLK_TCK)
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$viz/status"; }
cpu_s() { awk -v t="$ticks" '{ printf "%.0f", ($14 + $15) / t }' "/proc/$viz/stat"; }
echo "kiosk-soak: $VIZ $ckpt --kiosk --idle-seconds 2 on $display for $minutes min (pid $viz)"
first=""
for m in $(seq 1 "$minutes"); do
  sleep 60
  kill -0 "$viz" 2>/dev/null || { echo "kiosk-soak: error: glassbox-viz exited in minute $m" >&2; exit 1; }
  rss=$(rss_kb)
  [[ -n "$first" ]] || first=$rss
  printf 'minute %3d: resident %7.1f MB, cpu %5d s\n' "$m" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$(cpu_s)"
done
awk -v a="$first" -v b="$rss" 'BEGIN { printf "kiosk-soak: resident memory minute 1 -> last: %.1f MB -> %.1f MB (%+.1f MB)\n", a / 1024, b / 1024, (b - a) / 1024 }'
