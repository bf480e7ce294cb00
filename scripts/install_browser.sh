#!/usr/bin/env bash
# Debian's Chromium for the end-to-end test (Playwright drives it; it cannot download its own browser here).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then exit 0; fi
if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
# fonts-noto-cjk: the dashboard's Chinese labels in screenshots
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
