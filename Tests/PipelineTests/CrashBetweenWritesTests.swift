import DeviceEmulator
import EmulatedBench
import Foundation
import ParticleDevices
import Station
import StationAgent
import StationStore
import TestSupport
import Testing

/// A station killed right after the first write that marks a job finished: what the store
/// holds then is what a restart sees. A job saved as passed or failed must already have its
/// record (and a passed one its queued import), or the restart would find the job done and
/// never record it.
@Suite struct CrashBetweenWritesTests {
    struct Killed: Error {}

    /// The store as the process would leave it: every write after the first one that
    /// finishes a job fails, as if the process died there.
    final class DiesAfterAFinish: ProvisioningLog, @unchecked Sendable {
        let inner: StoreLog
        /// How long each write of a record or a step's line in the event log takes before it
        /// reaches the store (a busy disk): time for other events' writes to come meanwhile.
        let writeDelay: Duration
        // Guarded by `lock`.
        private let lock = NSLock()
        private var dead = false
        init(_ inner: StoreLog, writeDelay: Duration = .zero) {
            self.inner = inner
            self.writeDelay = writeDelay
        }
        func alive() throws { if lock.withLock({ dead }) { throw Killed() } }
        func die() { lock.withLock { dead = true } }
        func save(_ job: Job) async throws {
            try alive()
            try await inner.save(job)
            if job.step == .passed || job.step == .failed { die() }
        }
        func record(_ job: Job, _ detail: AttemptDetail, then change: ImportChange) async throws {
            try alive()
            if writeDelay > .zero { try await Task.sleep(for: writeDelay) }
            try alive()
            try await inner.record(job, detail, then: change)
            die()
        }
        func enqueueImport(_ job: Job, platformID: Int?) async throws { try alive(); try await inner.enqueueImport(job, platformID: platformID) }
        func withdrawImport(_ job: Job, reason: String) async throws { try alive(); try await inner.withdrawImport(job, reason: reason) }
        func event(_ kind: String, deviceID: DeviceID?, detail: String) async throws {
            try alive()
            if kind == "step", writeDelay > .zero { try await Task.sleep(for: writeDelay) }
            try await inner.event(kind, deviceID: deviceID, detail: detail)
        }
        func savedJobs() async throws -> [Job] { try await inner.savedJobs() }
    }

    /// With the store slow (real milliseconds a write), the writes of what happens meanwhile
    /// (the passed device leaving for its final mode and coming back) still come after the
    /// record's.
    @Test(arguments: [0, 300])
    func aJobSavedAsPassedAlreadyHasItsRecordAndItsImport(writeDelayMilliseconds: Int) async throws {
        let (spec, modules) = try BenchDriverTests.device("boron", os: "5.9.0")
        let clock = FastClock()
        let bench = try EmulatedBench([(spec, modules)], clock: clock)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try StationStore(path: folder.appendingPathComponent("station.sqlite").path)
        let storeLog = StoreLog(store: store, stationID: "test-bench", operatorName: "ana")
        let driver = BenchDriver(
            policy: BenchPolicy(), provisioner: Provisioner(link: bench, manifests: try BenchDriverTests.manifests(), clock: clock, switchWithin: .seconds(90)),
            link: bench, log: DiesAfterAFinish(storeLog, writeDelay: .milliseconds(writeDelayMilliseconds)), clock: clock)
        let feed = Task { for await event in bench.events { await driver.hardware(event) } }
        defer { feed.cancel() }
        await bench.plug(0)
        await driver.scanned((spec.profile.serial?.rawValue ?? "") + " " + BenchDriverTests.secret(0) + "\r\n")
        let id = spec.profile.deviceID.rawValue
        // Until its job is over (checked at each change of the view), at most 20 minutes of
        // the test clock.
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in await driver.updates() where await driver.jobs.contains(where: { $0.deviceID.rawValue == id && !$0.step.isActive }) { return }
            }
            group.addTask { try? await clock.sleep(for: .seconds(1200)) }
            await group.next()
            group.cancelAll()
        }
        #expect(await driver.jobs.first?.step == .passed)
        // The job is passed a moment before its writes are done (the step that passed it is
        // still writing): wait for the work in flight to end.
        await driver.drain()
        // What a restart would find.
        let saved = try await storeLog.savedJobs()
        #expect(saved.map(\.step) == [.passed], "the finishing write saved the job")
        #expect(try store.records().map(\.deviceID) == [id], "a job saved as passed has its record")
        #expect(try store.items().map(\.deviceID) == [id], "and its queued import")
        await bench.stop()
    }
}
