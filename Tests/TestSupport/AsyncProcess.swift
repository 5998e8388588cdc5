import Foundation

/// Runs a child process without holding a thread of the cooperative pool while it runs (a
/// blocked pool thread stalls every other test on a two-core machine).
public final class AsyncProcess: @unchecked Sendable {
    public let process = Process()
    // Set once by the termination handler, read after `exit()` returns.
    private let done = AsyncStream<Int32>.makeStream()

    public init(_ executable: URL, _ arguments: [String]) {
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let continuation = done.continuation
        process.terminationHandler = { finished in
            continuation.yield(finished.terminationStatus)
            continuation.finish()
        }
    }

    public func run() throws { try process.run() }

    /// Waits for the process to end; returns its status.
    @discardableResult
    public func exit() async -> Int32 {
        for await status in done.stream { return status }
        return process.terminationStatus
    }
}
