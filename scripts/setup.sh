#!/usr/bin/env bash
# Installs the Debian 12 packages csgis builds and tests with (skips those present).
# Needs root (or sudo). Swift itself is expected at /opt/swift or on PATH.
set -euo pipefail
PACKAGES=(libdnnl-dev libpng-dev pkg-config imagemagick graphicsmagick netpbm gimp libgimp2.0-dev libglib2.0-dev python3 time xvfb xauth xdotool)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || [ -x /opt/swift/usr/bin/swift ] || { echo "Swift 5.9+ is needed (https://swift.org/install)"; exit 1; }
