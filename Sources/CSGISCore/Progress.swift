import Foundation

/// Progress as every host sees it: the fraction of the work done and an estimate of the time left.
public struct SmoothingProgress: Sendable {
    public var fraction: Double
    public var elapsed: TimeInterval
    public var remaining: TimeInterval?
    public var tilesDone: Int, tiles: Int
}

/// Progress of one run: work done against the total, reported to the caller's callback.
final class RunProgress {
    let tiles: Int, totalWork: Double, progress: ((SmoothingProgress) -> Bool)?
    var done = 0.0, tilesDone = 0
    let start = Date()
    init(tiles: Int, totalWork: Double, progress: ((SmoothingProgress) -> Bool)?) {
        self.tiles = tiles; self.totalWork = totalWork; self.progress = progress
    }
    func report(_ pixels: Int) throws {
        done += Double(pixels)
        guard let progress else { return }
        let f = min(1, done / totalWork), el = Date().timeIntervalSince(start)
        let p = SmoothingProgress(fraction: f, elapsed: el, remaining: f > 0 ? el * (1 - f) / f : nil, tilesDone: tilesDone, tiles: tiles)
        if !progress(p) { throw CSGISError.cancelled }
    }
}

/// Progress of a spooled stream over its three phases: filling the spool (every row read),
/// the network's run over it, and draining the results (every row written). One fraction,
/// never falling, runs from 0 to 1 across all three, so a host's bar neither sits at 0 while
/// a large input is read nor reaches 100% before the output is written.
/// The fraction is by time: once the run reports an estimate, it is elapsed / (elapsed +
/// remaining), where remaining is the run's estimate plus the drain, taken to last as long as
/// the fill did (both move the same rows through the caller). Before that, during the fill,
/// the time ahead is unknown: the fraction moves within the first `fillShare` and no time
/// left is given. The caller's "stop" (a false answer) cancels in every phase.
final class SpoolProgress {
    private let report: ((SmoothingProgress) -> Bool)?
    private let start = Date()
    private var fillSeconds = 0.0, shown = 0.0, lastCall = Date.distantPast
    private var tiles = (done: 0, all: 0)
    /// When the drain began, and the fraction shown then.
    private var drainStart: (at: Date, fraction: Double)?
    /// The fraction the fill may take before the run's figures are known.
    static let fillShare = 0.02

    init(_ report: ((SmoothingProgress) -> Bool)?) { self.report = report }

    /// The fill has moved `done` of its rows.
    func filling(_ done: Double) throws {
        if done >= 1 { fillSeconds = Date().timeIntervalSince(start) }
        try send(done * SpoolProgress.fillShare, remaining: nil, throttled: done < 1)
    }

    /// The run's own progress: fraction and estimate of its time left.
    func running(_ p: SmoothingProgress) -> Bool {
        tiles = (p.tilesDone, p.tiles)
        let elapsed = Date().timeIntervalSince(start)
        guard let r = p.remaining else { return (try? send(SpoolProgress.fillShare, remaining: nil, throttled: false)) != nil }
        let left = r + fillSeconds
        let f = SpoolProgress.fillShare + (1 - SpoolProgress.fillShare) * elapsed / max(elapsed + left, 1e-9)
        return (try? send(f, remaining: left, throttled: false)) != nil
    }

    /// The drain has written `done` of its rows.
    func draining(_ done: Double) throws {
        let now = Date()
        if drainStart == nil { drainStart = (now, shown) }
        let (began, base) = drainStart!
        // the drain's own rate once some of it is done, the fill's length before that
        let left = done > 0 ? now.timeIntervalSince(began) * (1 - done) / done : fillSeconds
        try send(base + (1 - base) * done, remaining: left, throttled: done < 1)
    }

    /// Calls the caller's callback (at most every 0.1 s when `throttled`) with a fraction
    /// that never falls; a false answer cancels.
    private func send(_ fraction: Double, remaining: TimeInterval?, throttled: Bool) throws {
        guard let report else { return }
        let now = Date()
        guard !throttled || now.timeIntervalSince(lastCall) >= 0.1 else { return }
        lastCall = now
        shown = max(shown, min(1, fraction))
        let p = SmoothingProgress(fraction: shown, elapsed: now.timeIntervalSince(start), remaining: remaining, tilesDone: tiles.done, tiles: tiles.all)
        if !report(p) { throw CSGISError.cancelled }
    }
}
