#!/usr/bin/env bash
# Screenshot a rendered chapter with headless Chromium (Debian: apt-get install chromium).
# Usage: scripts/screenshot.sh [page.html[#section]] [out.png]   (after `make book`)
# The README's picture: WINDOW=1280,2200 scripts/screenshot.sh book/04_softmax_regression.html docs/screenshot.png
set -euo pipefail
page="${1:-book/intro.html}"
out="${2:-docs/screenshot.png}"
html="$(cd "$(dirname "$0")/.." && pwd)/_build/html/${page%%#*}"
[ -f "$html" ] || { echo "no $html: run 'make book' first" >&2; exit 1; }
fragment="${page#"${page%%#*}"}"
mkdir -p "$(dirname "$out")"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# The background-networking flags keep Chromium from calling home on a closed network.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --disable-background-networking --disable-component-update --disable-sync \
  --no-first-run --user-data-dir="$profile" --window-size="${WINDOW:-1280,900}" \
  --virtual-time-budget=5000 --screenshot="$out" "file://$html$fragment" 2>/dev/null
echo "wrote $out"
