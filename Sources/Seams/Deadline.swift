/// A point in time on an injected clock, for the polling waits of the adapters and the
/// pipeline ("until the device is back, at most 90 s"): the clock is whatever the caller
/// was given (the real one at the top, a test clock in tests), never read from inside.
public struct Deadline: Sendable {
    private let passed: @Sendable () -> Bool

    /// `duration` from now on `clock`.
    public init(after duration: Duration, on clock: any Clock<Duration>) {
        passed = Self.check(duration, clock)
    }

    private static func check<C: Clock<Duration>>(_ duration: Duration, _ clock: C) -> @Sendable () -> Bool {
        let end = clock.now.advanced(by: duration)
        return { clock.now >= end }
    }

    /// True once the clock has reached it.
    public var hasPassed: Bool { passed() }
}

extension Duration {
    /// This duration in seconds (for figures, and arithmetic on the bench's clock).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
