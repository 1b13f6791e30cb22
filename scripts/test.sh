#!/usr/bin/env bash
# Runs every test: sets up packages, builds, runs the Swift tests (unit, end-to-end with
# the real ImageMagick, GraphicsMagick and netpbm), and training/'s tests where PyTorch is
# installed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh
swift build --build-tests
swift test --skip-build
if python3 -c "import torch" 2>/dev/null; then
  python3 -m pytest -q training/tests
else
  echo "training/tests skipped: PyTorch is not installed (pip install -r training/requirements.txt)"
fi
