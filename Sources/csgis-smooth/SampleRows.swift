import CSGISCore
import CSGISImageIO

/// Bridges sample rows (any netpbm/PNG layout) to the core's RGB float rows, keeping the
/// input rows that are in flight so the sink can restore alpha (and pass rows through
/// untouched at strength 0). At most a band of rows is held.
final class SampleRowQueue {
    let width: Int, channels: Int, maxval: Int
    private var rows = RowsInFlight<[UInt16]>()
    init(width: Int, channels: Int, maxval: Int) { self.width = width; self.channels = channels; self.maxval = maxval }
    func push(_ r: [UInt16]) { rows.push(r) }
    func pop() -> [UInt16] { rows.pop() }
}

/// Pulls sample rows from `next` and hands RGB floats to the core.
final class SampleRowSource: RowSource {
    private let queue: SampleRowQueue
    private let next: (UnsafeMutablePointer<UInt16>) throws -> Void
    init(queue: SampleRowQueue, next: @escaping (UnsafeMutablePointer<UInt16>) throws -> Void) {
        self.queue = queue
        self.next = next
    }
    func readRows(_ count: Int, into buffer: UnsafeMutablePointer<Float>) throws {
        let n = queue.width * queue.channels
        for r in 0..<count {
            var row = [UInt16](repeating: 0, count: n)
            try row.withUnsafeMutableBufferPointer { try next($0.baseAddress!) }
            row.withUnsafeBufferPointer {
                samplesToRGBRow($0.baseAddress!, width: queue.width, channels: queue.channels, maxval: queue.maxval,
                                into: buffer + r * queue.width * 3)
            }
            queue.push(row)
        }
    }
}

/// Receives RGB floats from the core and emits sample rows with the input's alpha.
final class SampleRowSink: RowSink {
    private let queue: SampleRowQueue
    private let passThrough: Bool
    private let emit: (UnsafePointer<UInt16>) throws -> Void
    init(queue: SampleRowQueue, passThrough: Bool, emit: @escaping (UnsafePointer<UInt16>) throws -> Void) {
        self.queue = queue
        self.passThrough = passThrough
        self.emit = emit
    }
    func writeRows(_ count: Int, from buffer: UnsafePointer<Float>) throws {
        for r in 0..<count {
            let input = queue.pop()
            if passThrough {
                try input.withUnsafeBufferPointer { try emit($0.baseAddress!) }
                continue
            }
            var out = input
            out.withUnsafeMutableBufferPointer { o in input.withUnsafeBufferPointer { i in
                rgbToSamplesRow(buffer + r * queue.width * 3, width: queue.width, channels: queue.channels, maxval: queue.maxval,
                                alphaFrom: i.baseAddress!, into: o.baseAddress!)
            } }
            try out.withUnsafeBufferPointer { try emit($0.baseAddress!) }
        }
    }
}
