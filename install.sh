#!/usr/bin/env bash
# Builds csgis in release mode and installs the library, header, pkg-config file, models,
# the csgis-smooth filter and its man page (and the GIMP plug-in when it is built).
#
#   ./install.sh [--prefix DIR] [--system] [--install-deps] [--uninstall] [--bin-dir DIR]
#
# Per user by default (prefix ~/.local); --system installs to /usr/local. Idempotent:
# running it again replaces the files. --uninstall removes exactly what was installed.
# --bin-dir DIR installs already-built products from DIR without building (the tests use it,
# since SwiftPM cannot build while a test run holds the build folder).
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/opt/swift/usr/bin:$PATH"
PREFIX="${HOME}/.local"
UNINSTALL=0
DEPS=0
CONFIG=release
BIN=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --prefix=*) PREFIX="${1#--prefix=}"; shift ;;
    --system) PREFIX=/usr/local; shift ;;
    --install-deps) DEPS=1; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --bin-dir) BIN="$(cd "$2" && pwd)"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
PREFIX="$(mkdir -p "$PREFIX" && cd "$PREFIX" && pwd)"
MANIFEST="$PREFIX/share/csgis/install-manifest.txt"

if [ "$UNINSTALL" = 1 ]; then
  [ -f "$MANIFEST" ] || { echo "nothing installed under $PREFIX"; exit 0; }
  while read -r f; do
    rm -f "$f"
    case "$f" in */plug-ins/csgis-smooth/*) rmdir "$(dirname "$f")" 2>/dev/null || true ;; esac  # GIMP's per-plug-in folder
  done < "$MANIFEST"
  rm -f "$MANIFEST"
  rmdir -p "$PREFIX/share/csgis/models" "$PREFIX/share/csgis/imagemagick" "$PREFIX/lib/pkgconfig" "$PREFIX/share/man/man1" "$PREFIX/share/man/man3" 2>/dev/null || true
  echo "uninstalled csgis from $PREFIX"
  exit 0
fi

NEEDED=(libdnnl-dev libpng-dev pkg-config)
missing=()
for p in "${NEEDED[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$DEPS" = 1 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
  else
    echo "install.sh: missing Debian packages: ${missing[*]} (apt-get install them, or pass --install-deps)" >&2
    exit 1
  fi
fi

if [ -z "$BIN" ]; then
  swift build -c "$CONFIG" --product csgis >/dev/null
  swift build -c "$CONFIG" --product csgis-smooth >/dev/null
  BIN="$(swift build -c "$CONFIG" --show-bin-path)"
fi
for f in libcsgis.so csgis-smooth; do [ -f "$BIN/$f" ] || { echo "install.sh: $BIN/$f is missing (build first)" >&2; exit 1; }; done
VERSION="$(sed -n 's/^#define CSGIS_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)/\2/p' Sources/CSGISCHeader/include/csgis.h | paste -sd.)"

installed=()
put() {  # put MODE SRC DEST
  install -D -m "$1" "$2" "$3"
  installed+=("$3")
}
# libcsgis.so.VERSION with the usual links: libcsgis.so.0 (its SONAME) and libcsgis.so (for -lcsgis)
put 755 "$BIN/libcsgis.so" "$PREFIX/lib/libcsgis.so.$VERSION"
for link in "libcsgis.so.${VERSION%%.*}" libcsgis.so; do
  ln -sfn "libcsgis.so.$VERSION" "$PREFIX/lib/$link"
  installed+=("$PREFIX/lib/$link")
done
put 644 Sources/CSGISCHeader/include/csgis.h "$PREFIX/include/csgis.h"
put 755 "$BIN/csgis-smooth" "$PREFIX/bin/csgis-smooth"
put 644 docs/csgis-smooth.1 "$PREFIX/share/man/man1/csgis-smooth.1"
put 644 docs/csgis.3 "$PREFIX/share/man/man3/csgis.3"
for m in models/*.safetensors; do put 644 "$m" "$PREFIX/share/csgis/models/$(basename "$m")"; done
pc="$(mktemp)"
sed -e "s|@PREFIX@|$PREFIX|" -e "s|@VERSION@|$VERSION|" plugin-manifest/csgis.pc.in > "$pc"
put 644 "$pc" "$PREFIX/lib/pkgconfig/csgis.pc"
rm -f "$pc"
# ImageMagick delegate (plugin-manifest/manifest.json), pointing at the installed filter:
# copy it to ~/.config/ImageMagick/delegates.xml (or merge its line into yours) to use
# `convert csgis:in.png out.png`.
if command -v python3 >/dev/null; then
  dl="$(mktemp)"
  python3 - "$PREFIX/bin/csgis-smooth" > "$dl" <<'PY'
import json, sys
from xml.sax.saxutils import escape
d = json.load(open("plugin-manifest/manifest.json"))["filter"]["imagemagick_delegate"]
exe = escape(sys.argv[1], {'"': "&quot;"})
print('<?xml version="1.0" encoding="UTF-8"?>\n<delegatemap>\n  '
      + d.replace("&quot;csgis-smooth&quot;", "&quot;" + exe + "&quot;") + "\n</delegatemap>")
PY
  put 644 "$dl" "$PREFIX/share/csgis/imagemagick/delegates.xml"
  rm -f "$dl"
fi
if [ -x gimp-plugin/install.sh ]; then
  while read -r f; do installed+=("$f"); done < <(gimp-plugin/install.sh "$PREFIX" "$BIN")
fi
mkdir -p "$(dirname "$MANIFEST")"
printf '%s\n' "${installed[@]}" > "$MANIFEST"
echo "installed csgis $VERSION to $PREFIX"
echo "  filter:  $PREFIX/bin/csgis-smooth"
echo "  library: pkg-config --cflags --libs csgis  (PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig)"
