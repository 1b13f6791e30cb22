/// First-in, first-out rows that a row source has handed to the scheduler and its sink has
/// not written yet (front ends keep them to restore alpha or pass rows through unchanged).
/// Holds at most a band of rows (`LayoutRows` declares their size to the scheduler).
public struct RowsInFlight<Row> {
    private var rows: [Row] = []
    private var head = 0

    public init() {}

    public mutating func push(_ row: Row) { rows.append(row) }

    /// The oldest row; the caller pops exactly as many rows as it pushed.
    public mutating func pop() -> Row {
        let r = rows[head]
        head += 1
        if head > 256, head * 2 > rows.count {  // compact now and then: amortised O(1)
            rows.removeFirst(head)
            head = 0
        }
        return r
    }
}
