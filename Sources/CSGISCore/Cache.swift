import Foundation

/// A small thread-safe memo table.
final class Cache<K: Hashable, V>: @unchecked Sendable {
    private var table: [K: V] = [:]
    private let lock = NSLock()
    func get(_ k: K, _ make: () -> V) -> V {
        lock.lock(); defer { lock.unlock() }
        if let v = table[k] { return v }
        let v = make()
        table[k] = v
        return v
    }
}
