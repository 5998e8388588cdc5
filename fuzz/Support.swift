import Dispatch
import Seams

/// What every fuzz target shares: the input as bytes and as text, a way to run the async
/// adapters' pure parts to completion, and a clock that never waits.
enum Fuzz {
    static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Runs async work to completion on this thread's behalf (one input at a time).
    static func blocking(_ work: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await work()
            done.signal()
        }
        done.wait()
    }
}

/// A clock whose sleeps return at once and whose time advances by what was slept: a hostile
/// device's poll timeouts cost nothing, and a loop bounded in time still ends.
final class InstantClock: Clock, @unchecked Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
    }

    private var current = Instant(offset: .zero)
    private let lock = DispatchSemaphore(value: 1)
    var now: Instant {
        lock.wait()
        defer { lock.signal() }
        return current
    }
    var minimumResolution: Duration { .nanoseconds(1) }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        lock.wait()
        if deadline > current { current = deadline }
        lock.signal()
    }
}

/// A USB device whose every control-transfer reply comes from the fuzz input, in order.
final class ScriptedTransport: USBControlTransport, @unchecked Sendable {
    let deviceName = "fuzzed device"
    private var input: [UInt8]
    private var offset = 0
    private var transfers = 0
    init(_ input: [UInt8]) { self.input = input }

    /// The next reply: a length byte, then that many bytes (cut at the end of the input).
    func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
        transfers += 1
        guard transfers < 10_000, offset < input.count else { throw .stall }
        let length = Int(input[offset])
        offset += 1
        let end = min(input.count, offset + length)
        defer { offset = end }
        return Array(input[offset..<end])
    }
}
