import Foundation
import XCTest

/// Opt-in (CSGIS_LARGE_TESTS=1; minutes): a 20000x20000 PAM streamed through the filter
/// with the tiny model within a 256 MB budget; peak RSS must stay within budget + 300 MB.
final class LargeImageTests: XCTestCase {
    func testTwentyThousandSquarePAMStreamsWithinBudget() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["CSGIS_LARGE_TESTS"] == "1", "set CSGIS_LARGE_TESTS=1 to run")
        let side = 20000
        let header = "P7\\nWIDTH \(side)\\nHEIGHT \(side)\\nDEPTH 3\\nMAXVAL 255\\nTUPLTYPE RGB\\nENDHDR\\n"
        // Pixels from /dev/urandom (never held whole anywhere); count the output bytes.
        let cmd = "(printf '\(header)'; head -c \(side * side * 3) /dev/urandom) | /usr/bin/time -f 'maxrss_kb %M' \"$CSGIS\" --quiet "
            + "--model '\(Harness.tinyModel)' --memory 256M | wc -c"
        let r = try Harness.sh(cmd)
        XCTAssertEqual(r.status, 0, r.stderr)
        let headerBytes = "P7\nWIDTH \(side)\nHEIGHT \(side)\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n".utf8.count
        XCTAssertEqual(Int(String(decoding: r.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)), side * side * 3 + headerBytes)
        let kb = Int(r.stderr.split(separator: "\n").first { $0.hasPrefix("maxrss_kb") }!.split(separator: " ")[1])!
        print("20000x20000 PAM: peak RSS \(kb / 1024) MB at a 256 MB budget")
        XCTAssertLessThan(kb / 1024, 256 + 300)
    }
}
