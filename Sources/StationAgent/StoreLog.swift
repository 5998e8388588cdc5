import Foundation
import ParticleDevices
import Station
import StationStore

/// The pipeline's `ProvisioningLog` over the station store: job snapshots, attempt records,
/// the import queue and the event log, each write durable before the pipeline goes on.
public struct StoreLog: ProvisioningLog {
    public let store: StationStore
    public let stationID: String
    public let line: String?
    public let operatorName: String?
    /// Where passed devices are imported: the product, or the test account (a line whose
    /// fallback policy is "always", such as a connectivity line).
    public let destination: Destination
    /// The time withdrawals are recorded at.
    public let wallClock: @Sendable () -> Date

    public init(store: StationStore, stationID: String, line: String? = nil, operatorName: String? = nil, destination: Destination = .product,
                wallClock: @escaping @Sendable () -> Date = { Date() }) {
        self.wallClock = wallClock
        self.store = store
        self.stationID = stationID
        self.line = line
        self.operatorName = operatorName
        self.destination = destination
    }

    public func save(_ job: Job) async throws {
        try store.saveJob(snapshot(job))
    }

    func snapshot(_ job: Job) throws -> StationStore.JobSnapshot {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return StationStore.JobSnapshot(deviceID: job.deviceID.rawValue, stationID: stationID, step: job.step.rawValue, snapshot: try encoder.encode(job))
    }

    public func savedJobs() async throws -> [Job] {
        try store.jobs(stationID: stationID).map { try JSONDecoder().decode(Job.self, from: $0) }
    }

    public func record(_ job: Job, _ detail: AttemptDetail, then change: ImportChange) async throws {
        func versions(_ modules: [DeviceIdentity.Module]) -> [ProvisioningRecord.ModuleVersion] {
            modules.map { .init(function: $0.function.name, index: Int($0.index), version: Int($0.version), valid: $0.valid, sha256: $0.sha256) }
        }
        try store.record(ProvisioningRecord(
            deviceID: job.deviceID.rawValue, attempt: job.attempt, stationID: stationID, line: line, operatorName: operatorName,
            startedAt: detail.startedAt, finishedAt: detail.finishedAt, passed: job.step == .passed, failureCode: job.failure?.code,
            failureMessage: job.failure?.message, platform: job.identity.platform, serialNumber: job.identity.serialNumber?.rawValue, iccid: job.identity.iccid?.rawValue,
            imei: job.identity.imei?.rawValue, deviceOSVersion: job.identity.deviceOSVersion, deviceOSAfter: Self.deviceOSAfter(job, detail), scan: job.scan,
            steps: job.stepLog.map { .init(step: $0.step.rawValue, at: $0.at) },
            modulesBefore: versions(detail.modulesBefore), modulesAfter: versions(detail.modulesAfter),
            written: detail.written.map { .init(file: $0.file, sha256: $0.sha256, bytes: $0.bytes, action: $0.action, verified: true) },
            mobileSecret: job.mobileSecret, protection: job.identity.protection?.rawValue), then: storeChange(job, change), saving: snapshot(job))
    }

    func storeChange(_ job: Job, _ change: ImportChange) -> StationStore.ImportChange {
        switch change {
        case .none: return .none
        case .enqueue(let platformID):
            return .enqueue(deviceRecord(job, platformID: platformID), destination: destination, importSIM: job.identity.iccid != nil)
        case .withdraw(let reason):
            let (attempt, update) = withdrawal(job, reason: reason)
            return .withdraw(attempt, update)
        }
    }

    func deviceRecord(_ job: Job, platformID: Int?) -> DeviceRecord {
        DeviceRecord(deviceID: job.deviceID.rawValue, serial: job.identity.serialNumber?.rawValue, iccid: job.identity.iccid?.rawValue, imei: job.identity.imei?.rawValue,
                     platformID: platformID, stationID: stationID)
    }

    func withdrawal(_ job: Job, reason: String) -> (Attempt, ItemUpdate) {
        (Attempt(at: wallClock(), kind: "withdraw", httpStatus: nil, outcome: "withdrawn", detail: reason),
         ItemUpdate(deviceID: job.deviceID.rawValue, state: .attention,
                    reason: "\(Self.withdrawnPrefix) \(reason); not for the product (`station queue retry \(job.deviceID)` puts it back)",
                    outcome: "withdrawn", countsAsAttempt: false))
    }

    /// The Device OS the device holds after the attempt: its verified system part's release,
    /// or, when nothing was written, the release it was identified with.
    static func deviceOSAfter(_ job: Job, _ detail: AttemptDetail, versions: DeviceOSVersionTable = .bundled) -> String? {
        if let system = detail.modulesAfter.first(where: { $0.function == .systemPart && $0.valid }) {
            let version = system.version
            return versions.release(for: version, kind: .systemPart)
        }
        return detail.written.isEmpty ? job.identity.deviceOSVersion : nil
    }

    public func enqueueImport(_ job: Job, platformID: Int?) async throws {
        try store.enqueue(deviceRecord(job, platformID: platformID), destination: destination, importSIM: job.identity.iccid != nil)
    }

    /// The item needs attention, with the reason; `station queue retry` puts it back.
    public func withdrawImport(_ job: Job, reason: String) async throws {
        let (attempt, update) = withdrawal(job, reason: reason)
        try store.record(attempt, updates: [update])
    }

    /// How a withdrawn item's reason starts.
    public static let withdrawnPrefix = "withdrawn:"

    public func event(_ kind: String, deviceID: DeviceID?, detail: String) async throws {
        try store.appendEvent(stationID: stationID, deviceID: deviceID?.rawValue, kind: kind, detail: detail)
    }
}
