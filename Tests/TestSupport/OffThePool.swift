import Foundation

/// Runs blocking work (a child process run to its end, its output read to the end) on a
/// thread of its own, never on the cooperative pool: on a two-core machine two blocked pool
/// threads stall every other test, and the pipeline tests' compressed time goes on meanwhile.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
