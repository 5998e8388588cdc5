import Foundation

/// A dedicated thread that runs blocking calls one at a time, bridged to async callers by a
/// continuation: blocking libusb calls never run on the cooperative pool.
final class DeviceThread: Sendable {
    /// The job queue, shared with the thread (which keeps it alive until it ends).
    final class Queue: @unchecked Sendable {
        // `jobs` and `stopped` are guarded by `condition`.
        let condition = NSCondition()
        var jobs: [@Sendable () -> Void] = []
        var stopped = false

        func loop() {
            while true {
                condition.lock()
                while jobs.isEmpty && !stopped { condition.wait() }
                if jobs.isEmpty && stopped {
                    condition.unlock()
                    return
                }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
            }
        }
    }

    private let queue = Queue()

    init(name: String) {
        let queue = self.queue
        let thread = Thread { queue.loop() }
        thread.name = name
        thread.start()
    }

    deinit { stop() }

    /// Runs `body` on the thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            enqueue { continuation.resume(returning: body()) }
        }
    }

    func enqueue(_ job: @escaping @Sendable () -> Void) {
        queue.condition.lock()
        queue.jobs.append(job)
        queue.condition.signal()
        queue.condition.unlock()
    }

    /// Lets queued jobs finish, then ends the thread.
    func stop() {
        queue.condition.lock()
        queue.stopped = true
        queue.condition.signal()
        queue.condition.unlock()
    }
}
