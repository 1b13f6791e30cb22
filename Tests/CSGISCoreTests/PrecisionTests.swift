import CSGISCore
import Foundation
import XCTest

/// What `auto` means: bf16 where the CPU computes it faster than fp32 (AMX, AMD's
/// AVX512-BF16), else fp32, unless
/// CSGIS_PRECISION says otherwise. The log names the CPU's vector units and auto's choice,
/// so a failure elsewhere can be read against the machine it happened on.
final class PrecisionTests: XCTestCase {
    func testAutoFollowsTheCPUAndCSGIS_PRECISION() throws {
        let old = getenv("CSGIS_PRECISION").map { String(cString: $0) }
        defer { if let old { setenv("CSGIS_PRECISION", old, 1) } else { unsetenv("CSGIS_PRECISION") } }
        print("CPU: oneDNN ISA \(CPUInfo.isaName), native bf16: \(CPUInfo.hasNativeBF16 ? CPUInfo.bf16IsFaster ? "yes, faster than fp32" : "yes, not faster than fp32" : "no"), VNNI (8-bit int8 weights): \(CPUInfo.hasVNNI ? "yes" : "no"); "
              + "auto precision here: \(try Precision.auto.resolved().rawValue)"
              + (old.map { " (CSGIS_PRECISION=\($0))" } ?? ""))
        unsetenv("CSGIS_PRECISION")
        XCTAssertEqual(try Precision.auto.resolved(), CPUInfo.bf16IsFaster ? .bf16 : .fp32)
        XCTAssertTrue(!CPUInfo.bf16IsFaster || CPUInfo.hasNativeBF16)
        setenv("CSGIS_PRECISION", "fp32", 1)
        XCTAssertEqual(try Precision.auto.resolved(), .fp32)
        setenv("CSGIS_PRECISION", "bf16", 1)
        if CPUInfo.hasNativeBF16 {
            XCTAssertEqual(try Precision.auto.resolved(), .bf16)
        } else {
            XCTAssertThrowsError(try Precision.auto.resolved()) { XCTAssertTrue("\($0)".contains("bf16 needs"), "\($0)") }
        }
        XCTAssertEqual(try Precision.fp32.resolved(), .fp32, "an explicit fp32 ignores it")
        setenv("CSGIS_PRECISION", "fp64", 1)
        XCTAssertThrowsError(try Precision.auto.resolved()) { XCTAssertTrue("\($0)".contains("CSGIS_PRECISION"), "\($0)") }
    }
}
