#!/usr/bin/env bash
# Builds the GIMP 2.10 plug-in against the just-installed libcsgis and installs it.
#   gimp-plugin/install.sh PREFIX BIN_DIR   (called by install.sh; prints installed files)
# Per-user plug-in folder ($HOME/.config/GIMP/2.10/plug-ins) unless PREFIX is /usr or
# /usr/local, which use GIMP's system plug-in folder. Skipped, with a note on stderr, when
# libgimp2.0-dev is not installed.
set -euo pipefail
PREFIX="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
if ! pkg-config --exists gimp-2.0 gimpui-2.0 2>/dev/null; then
  echo "install.sh: GIMP plug-in skipped (apt-get install libgimp2.0-dev to build it)" >&2
  exit 0
fi
if [ "$PREFIX" = /usr ] || [ "$PREFIX" = /usr/local ]; then
  DEST="$(pkg-config --variable=gimplibdir gimp-2.0)/plug-ins/csgis-smooth"
else
  DEST="${HOME}/.config/GIMP/2.10/plug-ins/csgis-smooth"
fi
BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD"' EXIT
python3 "$ROOT/plugin-manifest/generate.py" "$ROOT/plugin-manifest/manifest.json" "$BUILD/registration.h"
cc -O2 -Wall -Wno-deprecated-declarations -o "$BUILD/csgis-smooth" "$ROOT/gimp-plugin/csgis-gimp.c" -I"$BUILD" -I"$PREFIX/include" \
   $(pkg-config --cflags --libs gimpui-2.0 gegl-0.4) -L"$PREFIX/lib" -lcsgis -Wl,-rpath,"$PREFIX/lib" >&2
install -D -m 755 "$BUILD/csgis-smooth" "$DEST/csgis-smooth"
touch "$DEST/csgis-smooth"   # GIMP caches registrations by path and mtime
echo "$DEST/csgis-smooth"
