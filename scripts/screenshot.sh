#!/usr/bin/env bash
# Screenshot a rendered page with headless Chromium (Debian: apt-get install chromium).
# Usage: scripts/screenshot.sh [page.html] [out.png] [top height]   (after `make book`)
# With `top height`, the picture is the page's band of that height from `top` pixels down
# (a tall window is rendered first). The README's picture, chapter 7's reliability diagram:
#   WINDOW=1280,16000 scripts/screenshot.sh book/07_beyond_accuracy.html docs/screenshot.png 8380 1320
set -euo pipefail
page="${1:-book/intro.html}"
out="${2:-docs/screenshot.png}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
html="$repo/_build/html/$page"
[ -f "$html" ] || { echo "no $html: run 'make book' first" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# The background-networking flags keep Chromium from calling home on a closed network.
"${CHROMIUM:-chromium}" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --disable-background-networking --disable-component-update --disable-sync \
  --no-first-run --user-data-dir="$profile" --window-size="${WINDOW:-1280,900}" \
  --virtual-time-budget=5000 --screenshot="$out" "file://$html" 2>/dev/null
if [ $# -ge 4 ]; then
  "$repo/.venv/bin/python" - "$out" "$3" "$4" <<'PY'
import sys
from PIL import Image  # Pillow comes with matplotlib

out, top, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
image = Image.open(out)
band = image.crop((0, top, image.width, top + height)).convert("RGB")
band.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
PY
fi
echo "wrote $out"
