#!/usr/bin/env bash
# Installs what the browser test (tests/browser.rs) needs on a fresh machine:
#   - Debian's chromium (via apt, when root and when it is not there yet);
#   - the pinned npm packages of tests/browser/package.json (+ lockfile) into target/browser,
#     skipped when that exact lockfile is already installed there.
# Nothing third-party lands in the repository. Usage: bash tests/browser/setup.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DEST="${SPLATPRESS_BROWSER_DIR:-$ROOT/target/browser}"

if [ -x /usr/bin/chromium ]; then
    echo "setup.sh: chromium present: $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
elif [ "$(id -u)" = 0 ]; then
    echo "setup.sh: installing chromium with apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
else
    echo "setup.sh: /usr/bin/chromium is missing and this is not root; install Debian's chromium package" >&2
    exit 1
fi

if ! command -v npm >/dev/null; then
    echo "setup.sh: npm is missing (Node.js and npm are needed)" >&2
    exit 1
fi

mkdir -p "$DEST"
STAMP="$DEST/.installed-package-lock.json"
if [ -d "$DEST/node_modules" ] && [ -f "$STAMP" ] && cmp -s "$STAMP" "$HERE/package-lock.json"; then
    echo "setup.sh: npm packages already installed in $DEST"
else
    cp "$HERE/package.json" "$HERE/package-lock.json" "$DEST/"
    # --ignore-scripts: no package here needs an install script, and webgpu's would try to
    # download a binary (splat-transform runs on the CPU without it).
    (cd "$DEST" && npm ci --ignore-scripts --no-audit --no-fund)
    cp "$HERE/package-lock.json" "$STAMP"
    echo "setup.sh: npm packages installed in $DEST"
fi
