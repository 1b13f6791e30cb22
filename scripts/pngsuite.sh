#!/usr/bin/env bash
# PngSuite through `csgis-smooth --strength 0`: is each output rendered by ImageMagick exactly
# like its input (same RGBA samples at 16 bits, same colour space, gamma, chromaticities,
# rendering intent, ICC profile, background colour, resolution and text), and is each
# corrupt file (x*.png) refused with a one-line error and nothing on stdout?
#   scripts/pngsuite.sh [DIR]        (CSGIS_SMOOTH=path picks the binary; default the release build)
# DIR holds PngSuite's files (http://www.schaik.com/pngsuite/, all 175). Without DIR, the
# PngSuite files that Debian and PyPI carry are gathered into .build/pngsuite: Go's
# image/png test data (golang-1.19-src) and pypng's pngsuite.py (45 of the 161), and the 14
# corrupt files are remade from them as PngSuite's index describes them.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CSGIS_SMOOTH:-.build/release/csgis-smooth}"
[ -x "$bin" ] || { export PATH="/opt/swift/usr/bin:$PATH"; swift build -c release --product csgis-smooth; }

dir="${1:-}"
if [ -z "$dir" ]; then
    dir=.build/pngsuite
    if [ ! -e "$dir/.complete" ]; then
        rm -rf "$dir" && mkdir -p "$dir/dl"
        (cd "$dir/dl" && apt-get download golang-1.19-src >/dev/null 2>&1 && dpkg -x golang-1.19-src_*.deb go) ||
            echo "pngsuite: golang-1.19-src not downloadable; skipping Go's copies" >&2
        find "$dir/dl/go" -path '*testdata/pngsuite/*' -name '*.png' -exec cp {} "$dir" \; 2>/dev/null || true
        (cd "$dir/dl" && pip download --no-deps --no-binary :all: --index-url https://pypi.org/simple \
            pypng==0.20220715.0 >/dev/null 2>&1 && tar xzf pypng-*.tar.gz) ||
            echo "pngsuite: pypng sdist not downloadable; skipping its copies" >&2
        py=$(find "$dir/dl" -name pngsuite.py | head -1)
        # pypng also holds a few files of its own, named with a capital letter: not PngSuite.
        [ -n "$py" ] && python3 -c "
import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import pngsuite
for name, data in pngsuite.png.items():
    if name[0].islower(): open(sys.argv[2] + '/' + name + '.png', 'wb').write(data)
" "$py" "$dir"
        # Go's variants with a suffix (basn0g01-30, ...) are its own, not PngSuite's.
        find "$dir" -maxdepth 1 -name '*-*.png' -delete
        rm -rf "$dir/dl"
        # PngSuite's 14 corrupt files, remade from its basic files as its index describes them.
        [ -e "$dir/basn0g01.png" ] && python3 - "$dir" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
def chunks(b):
    pos, out = 8, []
    while pos < len(b):
        n = struct.unpack(">I", b[pos:pos + 4])[0]
        out.append([b[pos + 4:pos + 8], b[pos + 8:pos + 8 + n]]); pos += 12 + n
    return out
def pack(cs, sig=b"\x89PNG\r\n\x1a\n"):
    return sig + b"".join(struct.pack(">I", len(c)) + t + c + struct.pack(">I", zlib.crc32(t + c)) for t, c in cs)
def ihdr(src, at, value):
    cs = chunks(open(f"{d}/{src}.png", "rb").read()); h = bytearray(cs[0][1]); h[at] = value; cs[0][1] = bytes(h)
    return pack(cs)
def resig(src, at, value):
    b = bytearray(open(f"{d}/{src}.png", "rb").read()); b[at] = value; return bytes(b)
raw = lambda src: open(f"{d}/{src}.png", "rb").read()
made = {
    "xs1n0g01": resig("basn0g01", 0, 0x09), "xs2n0g01": resig("basn0g01", 1, ord("Q")),
    "xs4n0g01": resig("basn0g01", 3, ord("g")), "xs7n0g01": resig("basn0g01", 6, 0x20),
    "xcrn0g04": raw("basn0g04").replace(b"\n", b"\r\n"), "xlfn0g04": raw("basn0g04").replace(b"\r", b"\r\n"),
    "xc1n0g08": ihdr("basn0g08", 9, 1), "xc9n2c08": ihdr("basn2c08", 9, 9),
    "xd0n2c08": ihdr("basn2c08", 8, 0), "xd3n2c08": ihdr("basn2c08", 8, 3), "xd9n2c08": ihdr("basn2c08", 8, 99),
}
b = bytearray(raw("basn0g08")); b[8 + 8 + 13] ^= 0xff; made["xhdn0g08"] = bytes(b)  # IHDR CRC
cs = chunks(raw("basn0g01")); made["xdtn0g01"] = pack([c for c in cs if c[0] != b"IDAT"])
b = bytearray(raw("basn0g01")); i = b.index(b"IDAT"); n = struct.unpack(">I", b[i - 4:i])[0]; b[i + 4 + n] ^= 0xff
made["xcsn0g01"] = bytes(b)  # IDAT CRC
for name, data in made.items(): open(f"{d}/{name}.png", "wb").write(data)
PY
        touch "$dir/.complete"
    fi
fi

# What ImageMagick renders: the samples, every field that changes how they display, and the
# file's properties (text, chunks found) but its name, dates and sample layout (IHDR, PLTE, tRNS:
# the readers expand palettes and tRNS to RGB and alpha; the RGBA samples are compared). tIME
# (the source's last-modified time; PngSuite's cm*) is not carried: the output is a new image.
render() {
    convert "$1" -depth 16 rgba:- | sha1sum
    identify -verbose "$1" | awk '
        /^  [A-Z]/ { props = ($1 == "Properties:") }
        /^ *(Colorspace|Gamma|Rendering intent|red primary|green primary|blue primary|white point|Background color|Resolution|Units|Profile-[A-Za-z0-9]+):/ { print; next }
        props && /^    / && !/^    (date:|filename:|png:(IHDR|PLTE|tRNS|tIME))/ { print }'
}

compgen -G "$dir/*.png" >/dev/null || { echo "pngsuite: no files in $dir (offline?); nothing checked" >&2; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
same=0 differ=0 refused=0 accepted=0
for f in "$dir"/*.png; do
    n=$(basename "$f")
    if [[ $n == x* ]]; then  # PngSuite's corrupt files
        if "$bin" --strength 0 <"$f" >"$tmp/out" 2>"$tmp/err"; then
            accepted=$((accepted + 1)); echo "ACCEPTED (corrupt) $n"
        elif [ -s "$tmp/out" ] || [ "$(wc -l <"$tmp/err")" != 1 ]; then
            accepted=$((accepted + 1)); echo "UNCLEAN REFUSAL $n: $(head -c 200 "$tmp/err")"
        else
            refused=$((refused + 1))
        fi
        continue
    fi
    if ! "$bin" --strength 0 <"$f" >"$tmp/$n" 2>"$tmp/err"; then
        differ=$((differ + 1)); echo "FAILED $n: $(head -c 200 "$tmp/err")"; continue
    fi
    if diff <(render "$f") <(render "$tmp/$n") >"$tmp/diff"; then
        same=$((same + 1))
    else
        differ=$((differ + 1)); echo "DIFFERS $n:"; grep '^[<>]' "$tmp/diff" | head -6
    fi
done
echo "pngsuite: $same/$((same + differ)) rendered identically; $refused/$((refused + accepted)) corrupt files refused"
[ "$differ" = 0 ] && [ "$accepted" = 0 ]
