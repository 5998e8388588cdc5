import Foundation

/// A test clock for whole-pipeline tests: its time passes `rate` times faster than real time
/// while the process gets on with its work, and a test moves it forward at once with
/// `advance(by:)` where it would otherwise wait (a device's cloud timer running out, say).
///
/// Why not a clock that only moves when told (swift-clocks' `TestClock`) or one whose sleeps
/// return at once (`ImmediateClock`): a pipeline test runs many tasks at once (the guard, a
/// device's cloud timer, the flash, the emulator's monitor), and what it checks is their
/// order. A clock that jumps whenever nothing seems to run lets a device's 30-second timer
/// fire while the guard is still in a store write; compressed time keeps every race as it is
/// on the real clock, only shorter.
///
/// Time moves in ticks run on the cooperative pool, about one a millisecond, each worth at
/// most 2 ms of real time: when the pool or the whole process is held up (a loaded CI
/// machine, another test blocking a pool thread), the clock slows with it instead of letting
/// every timeout run out at once.
public final class FastClock: Clock, @unchecked Sendable {
    public struct Instant: InstantProtocol, Hashable, Sendable {
        public var offset: Duration
        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    public let rate: Int
    private let lock = NSLock()
    private var current = Instant(offset: .zero)
    private var lastTick = ContinuousClock.now
    private var sleepers: [UUID: Sleeper] = [:]
    private var ticker: Task<Void, Never>?

    public init(rate: Int = 20) {
        precondition(rate >= 1)
        self.rate = rate
        ticker = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(1))
                guard let self else { return }
                self.tick()
            }
        }
    }

    deinit { ticker?.cancel() }

    public var now: Instant { lock.withLock { current } }

    public var minimumResolution: Duration { .microseconds(1) }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let due: Bool = lock.withLock {
                    if deadline <= current || Task.isCancelled { return true }
                    sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if due { continuation.resume() }
            }
            try Task.checkCancellation()
        } onCancel: {
            lock.withLock { sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock forward at once; every sleep due by then returns.
    public func advance(by duration: Duration) {
        wake { $0 = $0.advanced(by: duration) }
    }

    /// Waits until the sleeps due by now (after an `advance`, say) have been resumed and the
    /// pool has had a moment to run what they resumed.
    public func settle() async {
        let due = now
        while lock.withLock({ sleepers.values.contains { $0.deadline <= due } }) { await Task.yield() }
        for _ in 0..<100 { await Task.yield() }
    }

    private func tick() {
        wake { now in
            let real = ContinuousClock.now
            let elapsed = min(lastTick.duration(to: real), .milliseconds(2))
            lastTick = real
            now = now.advanced(by: elapsed * rate)
        }
    }

    private func wake(_ move: (inout Instant) -> Void) {
        let due: [Sleeper] = lock.withLock {
            move(&current)
            let due = sleepers.filter { $0.value.deadline <= current }
            for id in due.keys { sleepers.removeValue(forKey: id) }
            return Array(due.values)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
