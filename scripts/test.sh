#!/usr/bin/env bash
# Runs every test: sets up packages, builds, runs the Swift tests (unit, end-to-end with
# the real ImageMagick, GraphicsMagick, netpbm, GIMP and a C compiler), PngSuite through
# ImageMagick, a time-boxed coverage-guided fuzz run of the parsers, and training/'s tests
# (PyTorch from PyPI on the CPU, installed if missing). Nothing can hang: every command the
# tests start has a timeout, the suites have one each, and a Swift test over 120 s fails the
# run (the opt-in large tests excepted).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh
swift build --build-tests
log=$(mktemp); trap 'rm -f "$log"' EXIT
timeout -k 30 2700 swift test --skip-build 2>&1 | tee "$log"
slow=$(sed -nE "s/^Test Case '([^']+)' passed \(([0-9.]+) seconds\)/\2 \1/p" "$log" | awk '$1 > 120' | grep -v LargeImageTests || true)
[ -z "$slow" ] || { echo "tests over 120 s (the limit on 2 cores): $slow" >&2; exit 1; }
# On a CPU beyond AVX2 the suite runs again as on an AVX2-only one: oneDNN limited to its
# AVX2 kernels (DNNL_MAX_CPU_ISA, inherited by every host the tests start), so auto means
# fp32 and int8 takes its no-VNNI form; no expectation can hang on which precision auto
# picks or which kernels the CPU has.
if grep -qw avx512f /proc/cpuinfo; then
    echo "AVX-512 CPU: the suite again with oneDNN limited to AVX2 (DNNL_MAX_CPU_ISA=AVX2)"
    DNNL_MAX_CPU_ISA=AVX2 timeout -k 30 2700 swift test --skip-build 2>&1 | grep -E "error|failed|Executed [0-9]+ tests|CPU|int8 vs" | tail -20
fi
# PngSuite (the files Debian and PyPI carry, and its corrupt set remade) rendered alike by ImageMagick
CSGIS_SMOOTH=.build/debug/csgis-smooth scripts/pngsuite.sh
# coverage-guided fuzzing of each parser, time-boxed (scripts/fuzz.sh 3600 is the long run)
scripts/fuzz.sh "${CSGIS_FUZZ_SECONDS:-60}"
# PyTorch (run on the CPU here), OpenCV-contrib and scikit-image from PyPI, pinned
python3 -c "import torch, cv2, skimage, pytest" 2>/dev/null || python3 -m pip install -q -r training/requirements.txt
timeout -k 30 1800 python3 -m pytest -q training/tests
