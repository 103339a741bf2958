#!/usr/bin/env bash
# Chromium and ChromeDriver for the browser test (tests/integration/api/graphiql_in_a_browser.rs):
# installed from Debian's packages when missing and this runs as root (as CI does), otherwise the
# error says what to install.
set -euo pipefail
exec "$(dirname "$0")/ensure_commands.sh" "the browser test" chromium=chromium chromedriver=chromium-driver
