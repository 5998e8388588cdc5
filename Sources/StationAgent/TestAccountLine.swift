import ParticleDevices
import Foundation
import ParticleCloud
import Seams
import Station
import StationStore

/// A connectivity line's cloud side, under the test account: before a device may connect,
/// its queued import must have gone through the test-account path (its SIM activated: a
/// cellular device cannot connect without it); then "online" means the test account could
/// claim it, which the cloud allows only for a device that is connected.
public struct TestAccountLine: Sendable {
    public let store: StationStore
    /// The test account's API client.
    public let client: ParticleCloudClient
    /// One pass of the station's import queue (the same worker `station run` syncs with).
    public let sync: @Sendable () async -> Void
    /// How long activation may take before the device fails (fast SIM classes take seconds).
    public let activationWithin: Duration
    /// What its waits are measured on, and the time its claims are recorded at.
    public let clock: any Clock<Duration>
    public let wallClock: @Sendable () -> Date

    public init(store: StationStore, client: ParticleCloudClient, activationWithin: Duration = .seconds(120), clock: any Clock<Duration> = ContinuousClock(),
                wallClock: @escaping @Sendable () -> Date = { Date() }, sync: @escaping @Sendable () async -> Void) {
        self.clock = clock
        self.wallClock = wallClock
        self.store = store
        self.client = client
        self.activationWithin = activationWithin
        self.sync = sync
    }

    /// Returns when the device's import is through the test-account path; throws what the
    /// technician must do otherwise.
    public func activate(_ id: DeviceID) async throws(StepFailure) {
        let deviceID = id.rawValue
        let deadline = Deadline(after: activationWithin, on: clock)
        var last = "not synced yet"
        while true {
            await sync()
            let item: QueueItem?
            do { item = try store.items().first { $0.deviceID == deviceID } } catch {
                throw StepFailure("CONNECTIVITY-STORE", "cannot read the import queue: \(error)")
            }
            guard let item else {
                throw StepFailure("CONNECTIVITY-NOT-QUEUED", "\(deviceID) is not in the import queue, so its SIM cannot be activated; re-run the device")
            }
            switch item.state {
            case .pendingMigration, .done:
                return
            case .attention where item.reason?.hasPrefix(StoreLog.withdrawnPrefix) == true:
                // Withdrawn when an earlier attempt failed; this attempt takes it back.
                do { _ = try store.retry([deviceID]) } catch {
                    throw StepFailure("CONNECTIVITY-STORE", "cannot put the device's import back in the queue: \(error)")
                }
                continue
            case .attention:
                throw StepFailure("CONNECTIVITY-ACTIVATION", "the test account could not take the device or activate its SIM: \(item.reason ?? "no reason given"). "
                                  + "Fix it (`station queue status --device \(deviceID)`), then re-run the device")
            case .pending:
                last = item.reason ?? "waiting for the cloud"
            }
            guard !deadline.hasPassed else {
                throw StepFailure("CONNECTIVITY-ACTIVATION-TIMEOUT", "the device's SIM was not activated under the test account within \(activationWithin) (\(last)). "
                                  + "Check the station's network and credentials, then re-run the device")
            }
            try? await clock.sleep(for: .seconds(1))
        }
    }

    /// True once the test account has claimed the device (only a connected device can be
    /// claimed); the queue item records it. A refusal because it is not connected is "not
    /// yet"; any other error is thrown (the test keeps polling and reports the last one).
    public func isOnline(_ id: DeviceID) async throws -> Bool {
        let deviceID = id.rawValue
        do {
            try await client.claim(deviceID)
        } catch {
            if case .badRequest = error { return false }
            throw error
        }
        try store.record(Attempt(at: wallClock(), kind: "claim", httpStatus: 200, outcome: "ok", detail: "connectivity test: online under the test account"),
                         updates: [ItemUpdate(deviceID: deviceID, state: .pendingMigration, reason: "claimed to the test account: it connected", outcome: "claimed")])
        return true
    }
}
