#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, from the Swift toolchain, with AddressSanitizer) of every
# parser: the whole-image readers (PAM/PNM, PNG through the libpng shim and its chunk guard),
# the streamed PNG row reader and the safetensors parser.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     SECONDS per target (default 3600);
#                                              TARGET: image png-rows safetensors (default all)
# CSGISImageIO, CPNG and CSGISCore are built instrumented in .build-fuzz (libpng and oneDNN
# themselves are Debian's, not instrumented); Tests/Fuzz/FuzzHarness.swift is the entry
# point. Seeds: Tests/Fixtures/corpus plus, where scripts/pngsuite.sh has gathered them,
# PngSuite's files. The corpus grows in .build-fuzz/corpus/TARGET across runs; a crash is
# written to .build-fuzz/crashes/ and ends the script with status 1. Prints each target's
# final coverage line (cov: edges, ft: features). scripts/test.sh runs every target briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
seconds="${1:-3600}"; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(image png-rows safetensors)
B=.build-fuzz/debug
flags=(--scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address)
swift build "${flags[@]}" --target CSGISImageIO >/dev/null
swift build "${flags[@]}" --target CSGISCore >/dev/null
mm=(); for m in CPNG CDNNL CSGISCHeader; do mm+=(-Xcc "-fmodule-map-file=$B/$m.build/module.modulemap" -Xcc "-ISources/$m/include"); done
# the objects of today's sources only: a renamed file's old object stays in the build folder
objects=(); for t in CSGISImageIO CPNG CSGISCore CDNNL CSGISCHeader; do
    for f in Sources/$t/*.swift Sources/$t/*.c; do [ -e "$f" ] && objects+=("$B/$t.build/$(basename "$f").o"); done
done
swiftc -sanitize=fuzzer,address -parse-as-library -g Tests/Fuzz/FuzzHarness.swift -I "$B/Modules" "${mm[@]}" \
    "${objects[@]}" -lpng16 -ldnnl -lgomp -o "$B/csgis-fuzz" 2> >(grep -v "Cannot export local symbol" >&2)
mkdir -p .build-fuzz/crashes
status=0
for t in "${targets[@]}"; do
    corpus=.build-fuzz/corpus/$t; seeds=.build-fuzz/seeds/$t
    mkdir -p "$corpus" "$seeds"
    case $t in
        safetensors) cp Tests/Fixtures/tiny-*.safetensors "$seeds"/ ;;
        png-rows) cp Tests/Fixtures/corpus/*.png "$seeds"/; [ -d .build/pngsuite ] && cp .build/pngsuite/*.png "$seeds"/ || true ;;
        image) cp Tests/Fixtures/corpus/c* Tests/Fixtures/photo-*.png "$seeds"/; [ -d .build/pngsuite ] && cp .build/pngsuite/*.png "$seeds"/ || true ;;
        *) echo "fuzz.sh: unknown target '$t' (image, png-rows, safetensors)" >&2; exit 64 ;;
    esac
    log=.build-fuzz/$t.log
    # -rss_limit_mb: a parser must not need more than this whatever the input claims
    if CSGIS_FUZZ_TARGET=$t "$B/csgis-fuzz" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=20 \
        -artifact_prefix=.build-fuzz/crashes/"$t"- -print_final_stats=1 "$corpus" "$seeds" >"$log" 2>&1; then
        echo "$t: $(grep -E '^#[0-9]+.*DONE' "$log" | tail -1) (${seconds} s, no crash)"
    else
        status=1
        echo "$t: FINDING after $(grep -cE '^#[0-9]+' "$log") reports; see $log and .build-fuzz/crashes/" >&2
        grep -E 'ERROR|Fatal|==[0-9]+==|deadly|Test unit written' "$log" | head -5 >&2
    fi
done
exit $status
