#!/usr/bin/env bash
# Long opt-in fuzz run of the parsers (PAM/PNM and PNG whole-image, the streamed PNG row
# reader, the safetensors header): SECONDS per parser (default 3600), seeded mutations of
# Tests/Fixtures/corpus. CI runs the same tests time-boxed to 60 s each (scripts/test.sh).
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
swift build --build-tests
CSGIS_FUZZ_SECONDS="${1:-3600}" swift test --skip-build --filter 'ParserFuzzTests|SafeTensorsFuzzTests' 2>&1 | grep -E 'mutations|Executed|error'
