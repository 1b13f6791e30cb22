#!/usr/bin/env bash
# The main job on the bundled example: set up, build in release, smooth
# examples/textured.png with the default model (base) -> examples/textured-smoothed.png
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh
swift build -c release --product csgis-smooth
.build/release/csgis-smooth examples/textured.png examples/textured-smoothed.png
echo "wrote examples/textured-smoothed.png (input: examples/textured.png)"
