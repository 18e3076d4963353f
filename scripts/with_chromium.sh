#!/usr/bin/env bash
# Run a command that needs headless Chromium, with CHROMIUM set to its path (default: Debian's
# package, /usr/bin/chromium), installing the package first when it is missing and apt-get
# may (root). Where it cannot be had: an error under CI (which must run the check), a skip
# elsewhere. Usage: scripts/with_chromium.sh node scripts/check_browser.mjs   (make check-browser)
set -euo pipefail
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ] && [ "$chromium" = /usr/bin/chromium ] && [ "$(id -u)" = 0 ] &&
  command -v apt-get >/dev/null; then
  echo "installing Chromium (Debian package chromium)"
  export DEBIAN_FRONTEND=noninteractive
  # Fetch the package lists only when the install fails without them (a fresh machine).
  install() { apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
  install 2>/dev/null || { apt-get update -qq && install; }
fi
if [ ! -x "$chromium" ]; then
  problem="no Chromium at $chromium: install it (Debian: apt-get install chromium) or set CHROMIUM"
  if [ -n "${CI:-}" ]; then
    echo "error: $problem" >&2
    exit 1
  fi
  echo "skipping '$*': $problem"
  exit 0
fi
CHROMIUM="$chromium" exec "$@"
