#!/usr/bin/env bash
# Makes sure commands a script needs are on PATH: installs the Debian packages that provide the
# missing ones when this runs as root on Debian (as CI does), otherwise says what to install and
# fails.
#
#   scripts/ensure_commands.sh "<what needs them>" <command>=<Debian package> ...
#
# e.g. scripts/ensure_commands.sh "the browser test" chromium=chromium chromedriver=chromium-driver
set -euo pipefail
purpose=${1:?usage: scripts/ensure_commands.sh "<what needs them>" <command>=<package> ...}
shift
missing_commands=() missing_packages=()
for pair in "$@"; do
  command -v "${pair%%=*}" >/dev/null 2>&1 && continue
  missing_commands+=("${pair%%=*}")
  missing_packages+=("${pair#*=}")
done
[ ${#missing_commands[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing_commands[*]} (Debian packages ${missing_packages[*]}) for $purpose"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_packages[@]}" >/dev/null
  exit 0
fi
echo "$purpose needs ${missing_commands[*]} on PATH:
  Debian/Ubuntu:  sudo apt-get install ${missing_packages[*]}
  elsewhere:      your platform's packages that provide ${missing_commands[*]}" >&2
exit 1
