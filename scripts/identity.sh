#!/usr/bin/env bash
# Hashes of every output a refactor must leave unchanged: the C API (every entry point over
# layouts x strengths x budgets x tile sizes, tiny model and lite, fp32 and auto precision),
# the filter (formats, strengths, budgets that make every plan, tiles, streaming, stdin),
# the bundled example and the GIMP batch script (when GIMP is installed). One line per run.
#
#   scripts/identity.sh > before.txt    # ... change the code ...
#   scripts/identity.sh | diff before.txt -
#
# Uses the debug build (swift build); nothing is timed. Takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
swift build >&2
bin=.build/debug
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
tiny=Tests/Fixtures/tiny-4x1.safetensors
lite=models/csgis-lite.safetensors

mkdir "$work/lib"; ln -s "$PWD/$bin/libcsgis.so" "$work/lib/libcsgis.so.0"; ln -s libcsgis.so.0 "$work/lib/libcsgis.so"
cc -O1 -Wall -Werror scripts/identity/capi.c -I Sources/CSGISCHeader/include -L "$work/lib" -lcsgis -Wl,-rpath,"$work/lib" -o "$work/capi"
for run in "$tiny fp32" "$tiny auto" "$lite auto"; do
    set -- $run
    timeout 1200 "$work/capi" "$1" "$2" | sed "s|^|capi $(basename "$1") $2: |"
done

# filter: inputs in every format the filter reads, made by ImageMagick from the example
ex=examples/textured.png
convert "$ex" "$work/rgb.png"
convert "$ex" -alpha set -channel A -fx '(i+j)%256/255' -depth 16 "$work/rgba16.png"
convert "$ex" -colorspace Gray "$work/grey.png"
convert "$ex" "$work/in.ppm"
convert "$ex" -colorspace Gray -depth 16 "$work/grey16.pgm"
convert "$ex" -alpha set -channel A -fx '(i*3+j)%256/255' "$work/rgba.pam"
convert "$ex" -compress none "$work/ascii.ppm"
run() {  # name, then csgis-smooth's arguments; the output hash, or the status and message
    local name=$1; shift
    if out=$(timeout 600 "$bin/csgis-smooth" --quiet --threads 2 "$@" 2>"$work/err" | sha256sum | cut -c1-16) && [ ! -s "$work/err" ]; then
        echo "filter $name: $out"
    else
        echo "filter $name: failed: $(head -c 300 "$work/err")"
    fi
}
for f in rgb.png rgba16.png grey.png in.ppm grey16.pgm rgba.pam ascii.ppm; do
    for p in fp32 auto; do
        m=$tiny
        run "$f $p tiny default" --precision $p --model "$m" "$work/$f" -
        run "$f $p tiny strength 0.5" --precision $p --model "$m" --strength 0.5 "$work/$f" -
        run "$f $p tiny tile 64" --precision $p --model "$m" --tile 64 "$work/$f" -
        for mem in 1M 2M 4M 8M; do
            run "$f $p tiny memory $mem" --precision $p --model "$m" --memory $mem "$work/$f" -
            CSGIS_STREAM_THRESHOLD=0 run "$f $p tiny memory $mem streamed" --precision $p --model "$m" --memory $mem "$work/$f" -
        done
        # lite (its receptive radius makes strips and bands of a small image): whole, and each plan streamed
        run "$f $p lite default" --precision $p --model "$lite" --strength 0.5 "$work/$f" -
        for mem in 4M 12M 40M; do
            CSGIS_STREAM_THRESHOLD=0 run "$f $p lite memory $mem streamed" --precision $p --model "$lite" --memory $mem "$work/$f" -
        done
        run "$f $p strength 0" --precision $p --strength 0 "$work/$f" -
        run "$f $p stdin" --precision $p --model "$tiny" - - < "$work/$f"
        CSGIS_STREAM_THRESHOLD=0 run "$f $p stdin streamed" --precision $p --model "$tiny" --memory 3M - - < "$work/$f"
        run "$f $p as png" --precision $p --model "$tiny" --format png "$work/$f" -
        run "$f $p as pam" --precision $p --model "$tiny" --format pam "$work/$f" -
    done
done
# the bundled example, as scripts/example.sh runs it (default model and options)
"$bin/csgis-smooth" --quiet "$ex" "$work/example.png"
echo "example: $(sha256sum < "$work/example.png" | cut -c1-16)"

# the GIMP batch script over the installed plug-in
if command -v gimp-console-2.10 >/dev/null && pkg-config --exists gimpui-2.0; then
    mkdir -p "$work/home" "$work/batch"
    HOME="$work/home" ./install.sh --prefix "$work/prefix" --bin-dir "$bin" >&2
    cp "$work/rgb.png" "$work/batch/a.png"; cp "$work/rgba16.png" "$work/batch/b.png"; cp "$work/grey.png" "$work/batch/c.png"
    for s in 1.0 0.5; do
        rm -f "$work"/batch/*-smoothed.png
        job="(begin (load \"$PWD/examples/gimp-batch-smooth.scm\") (csgis-batch-smooth \"$work/batch/?.png\" $s \"$PWD/$tiny\"))"
        HOME="$work/home" timeout 600 gimp-console-2.10 -i -d -f -b "$job" -b '(gimp-quit 0)' >/dev/null 2>&1
        for f in a b c; do
            # pixels only: GIMP writes the time into the PNG
            echo "gimp $f strength $s: $(convert "$work/batch/$f-smoothed.png" rgba:- | sha256sum | cut -c1-16)"
        done
    done
fi
