#!/usr/bin/env bash
# Remakes docs/before-after.png: a held-out Kodak photo (kodim05, its left 512x512) beside
# what the real filter makes of it with the default model (run after shipping a model).
#   scripts/before-after.sh [DATASETS]      (default ../shared/datasets)
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:-../shared/datasets}/photos/Set24/kodim05.png"
bin=.build/release/csgis-smooth
[ -x "$bin" ] || { export PATH="/opt/swift/usr/bin:$PATH"; swift build -c release --product csgis-smooth >/dev/null; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
convert "$src" -crop 512x512+0+0 +repage "$tmp/in.png"
timeout 600 "$bin" --quiet "$tmp/in.png" "$tmp/out.png"
# the model it ran: $CSGIS_MODEL, else the default the filter's help names
model=${CSGIS_MODEL:-$("$bin" --help | sed -nE 's/.*else ([a-z]+)\).*/\1/p' | head -1)}
python3 - "$tmp" "$model" <<'PY'
import sys, cv2, numpy as np
d = sys.argv[1]
a, b = cv2.imread(f"{d}/in.png"), cv2.imread(f"{d}/out.png")
bar = np.full((22, 1032, 3), 255, np.uint8)
cv2.putText(bar, "input (Kodak kodim05, held out)", (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
cv2.putText(bar, f"csgis-smooth (default model: {sys.argv[2]})", (524, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
row = np.concatenate([a, np.full((512, 8, 3), 255, np.uint8), b], 1)
cv2.imwrite("docs/before-after.png", np.concatenate([bar, row], 0))
PY
echo "docs/before-after.png remade with $($bin --version)"
