#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed, for the browser tests: they
# drive the real pages in a headless browser (through chromedp).
set -euo pipefail

command -v chromium >/dev/null && exit 0
sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
echo "chromium.sh: Chromium is not installed; installing it with apt" >&2
sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || {
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}
command -v chromium >/dev/null
