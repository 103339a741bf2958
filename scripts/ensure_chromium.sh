#!/usr/bin/env bash
# Chromium and ChromeDriver for the browser test (tests/integration/api/graphiql_in_a_browser.rs).
# Installs Debian's packages when they are missing and this runs as root (as CI does); otherwise
# says what to install.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Chromium and ChromeDriver (Debian packages chromium, chromium-driver) for the browser test"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  exit 0
fi
echo "The browser test needs Chromium and ChromeDriver on PATH (chromium, chromedriver):
  Debian/Ubuntu:  sudo apt-get install chromium chromium-driver
  Fedora/RHEL:    sudo dnf install chromium chromedriver
  macOS:          brew install --cask chromium chromedriver" >&2
exit 1
