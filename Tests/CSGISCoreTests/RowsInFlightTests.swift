import XCTest
@testable import CSGISCore

final class RowsInFlightTests: XCTestCase {
    func testFirstInFirstOutAcrossCompactions() {
        var q = RowsInFlight<Int>()
        var next = 0, expected = 0
        for round in 0..<50 {
            for _ in 0..<(round % 7 + 30) { q.push(next); next += 1 }
            for _ in 0..<(round % 5 + 28) where expected < next { XCTAssertEqual(q.pop(), expected); expected += 1 }
        }
        while expected < next { XCTAssertEqual(q.pop(), expected); expected += 1 }
    }
}
