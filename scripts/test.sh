#!/usr/bin/env bash
# Runs every test: sets up packages, builds, runs the Swift tests (unit, end-to-end with
# the real ImageMagick, GraphicsMagick, netpbm, GIMP and a C compiler), PngSuite through
# ImageMagick, a time-boxed fuzz run of the parsers, and training/'s tests (PyTorch from
# PyPI on the CPU, installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh
swift build --build-tests
swift test --skip-build
# PngSuite (the files Debian and PyPI carry, and its corrupt set remade) rendered alike by ImageMagick
CSGIS_SMOOTH=.build/debug/csgis-smooth scripts/pngsuite.sh
# a time-boxed fuzz run of each parser (scripts/fuzz.sh runs the same for longer)
CSGIS_FUZZ_SECONDS="${CSGIS_FUZZ_SECONDS:-60}" swift test --skip-build --filter 'ParserFuzzTests|SafeTensorsFuzzTests'
# PyTorch (run on the CPU here), OpenCV-contrib and scikit-image from PyPI, pinned
python3 -c "import torch, cv2, skimage, pytest" 2>/dev/null || python3 -m pip install -q -r training/requirements.txt
python3 -m pytest -q training/tests
