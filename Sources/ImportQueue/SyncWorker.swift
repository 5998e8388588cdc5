import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ParticleCloud
import ParticleDevices
import Seams
import StationConfig
import StationStore

/// Drains the import queue into the product in batches, with the test-account fallback.
///
/// Every request is recorded (`StationStore.record`) with what it did to each device, in one
/// transaction after the reply; a process killed before that leaves the items pending, and
/// re-sending them is harmless (the API lists devices already present as existing).
public struct SyncWorker: Sendable {
    public struct Settings: Sendable {
        public var product: ProductKey
        public var batchSize: Int
        public var importSIMs: Bool
        public var nameFromSerial: Bool
        public var shipmentGroup: String?
        public var fallback: StationConfig.Fallback
        public var retry: RetryPolicy
        /// How long the worker keeps trying while the network or the cloud is down (nil:
        /// until the queue drains).
        public var giveUpAfter: Duration?
        /// A free-plan product: count its devices before importing, and send only what fits.
        public var freeDeviceLimit: Int?
        /// Only devices of this platform (a bench serving one product per platform runs one
        /// worker per product).
        public var platformID: Int?

        public init(product: ProductKey, batchSize: Int = 50, importSIMs: Bool = true, nameFromSerial: Bool = false, shipmentGroup: String? = nil,
                    fallback: StationConfig.Fallback = .init(policy: .off, permanentRefusals: StationConfig.defaultPermanentRefusals),
                    retry: RetryPolicy = RetryPolicy(), giveUpAfter: Duration? = nil, freeDeviceLimit: Int? = nil,
                    platformID: Int? = nil) {
            self.freeDeviceLimit = freeDeviceLimit
            self.platformID = platformID
            self.product = product
            self.batchSize = batchSize
            self.importSIMs = importSIMs
            self.nameFromSerial = nameFromSerial
            self.shipmentGroup = shipmentGroup
            self.fallback = fallback
            self.retry = retry
            self.giveUpAfter = giveUpAfter
        }
    }

    /// Why a run ended.
    public enum Stop: Hashable, Sendable {
        /// Nothing pending is left (items needing attention or migration stay as they are).
        case drained
        /// A failure retrying cannot fix (401 token invalid, 404 product unknown): syncing
        /// stops until someone fixes it.
        case blocked(CloudError)
        /// Still failing after `giveUpAfter`; the items stay queued for the next run.
        case gaveUp(CloudError)
        /// Another process holds the sync lease.
        case leaseHeld(by: String)
        /// The caller's condition (`run(until:)`) held.
        case stoppedByCaller
    }

    public struct Report: Hashable, Sendable {
        public var stop: Stop
        public var requests = 0
        public var imported = 0
        public var alreadyPresent = 0
        public var needAttention = 0
        public var toTestAccount = 0
    }

    public let store: StationStore
    /// Nil when the station has no product credentials: every device takes the fallback.
    public let product: ParticleCloudClient?
    public let testAccount: ParticleCloudClient?
    public let settings: Settings
    public let holder: String
    public var sleep: @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }
    public var now: @Sendable () -> Date = { Date() }
    public var jitter: @Sendable () -> Double = { Double.random(in: 0...1) }

    public init(store: StationStore, product: ParticleCloudClient?, testAccount: ParticleCloudClient?, settings: Settings,
                holder: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)") {
        self.store = store
        self.product = product
        self.testAccount = testAccount
        self.settings = settings
        self.holder = holder
    }

    static let leaseSeconds: TimeInterval = 120

    /// Takes the sync lease; a lease left by a process of this machine that no longer runs
    /// (killed) is taken over at once rather than after it expires.
    func lease() throws(StoreError) -> Bool {
        if try store.acquireLease(holder: holder, for: Self.leaseSeconds, now: now()) { return true }
        guard let current = try store.lease()?.holder, Self.isDeadLocalProcess(current) else { return false }
        return try store.takeOverLease(from: current, holder: holder, for: Self.leaseSeconds, now: now())
    }

    /// `host:pid` of this machine whose process is gone.
    static func isDeadLocalProcess(_ holder: String) -> Bool {
        let parts = holder.split(separator: ":")
        guard parts.count == 2, String(parts[0]) == ProcessInfo.processInfo.hostName, let pid = Int32(parts[1]), pid > 0 else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Runs until the queue is drained or blocked, or `until` holds (checked between requests).
    public func run(until: @Sendable (Report) -> Bool = { _ in false }) async throws(StoreError) -> Report {
        guard try lease() else {
            return Report(stop: .leaseHeld(by: (try? store.lease())??.holder ?? "another process"))
        }
        defer { try? store.releaseLease(holder: holder) }
        var report = Report(stop: .drained)
        var failures = 0
        var failingSince: Date?
        while true {
            if until(report) {
                report.stop = .stoppedByCaller
                return report
            }
            guard try lease() else {
                report.stop = .leaseHeld(by: (try? store.lease())??.holder ?? "another process")
                return report
            }
            let step: StepResult
            let productBatch = try store.due(limit: settings.batchSize, destination: .product, platformID: settings.platformID, now: now())
            if !productBatch.isEmpty {
                step = product != nil
                    ? try await importBatch(productBatch, report: &report)
                    : try moveToFallback(productBatch, reason: "this station has no product credentials", report: &report)
            } else if case let batch = try store.due(limit: settings.batchSize, destination: .testAccount, platformID: settings.platformID, now: now()), !batch.isEmpty {
                step = try await testAccountBatch(batch, report: &report)
            } else if let next = try store.nextDue(platformID: settings.platformID) {
                // Items wait for their backoff to end.
                let wait = next.timeIntervalSince(now())
                if wait > 0 { await sleep(.seconds(min(wait, 60))) }
                continue
            } else {
                return report
            }
            switch step {
            case .progress:
                failures = 0
                failingSince = nil
            case .blocked(let error):
                report.stop = .blocked(error)
                return report
            case .transient(let error, let retryAfter):
                failures += 1
                let since = failingSince ?? now()
                failingSince = since
                if let limit = settings.giveUpAfter, now().timeIntervalSince(since) >= Double(limit.components.seconds) {
                    report.stop = .gaveUp(error)
                    return report
                }
                await sleep(settings.retry.delay(attempt: failures, jitter: jitter(), retryAfter: retryAfter))
            }
        }
    }

    enum StepResult {
        case progress
        case blocked(CloudError)
        case transient(CloudError, retryAfter: Duration?)
    }

    static func status(_ error: CloudError) -> Int? {
        switch error {
        case .tokenInvalid: 401
        case .forbidden: 403
        case .notFound: 404
        case .badRequest: 400
        case .rateLimited: 429
        case .server(let status, _), .unexpected(let status, _): status
        case .transport, .malformed: nil
        }
    }

    /// One product import request for a batch, and what it did to each item.
    func importBatch(_ batch: [QueueItem], report: inout Report) async throws(StoreError) -> StepResult {
        guard let product else { return .progress }
        var batch = batch
        if let limit = settings.freeDeviceLimit {
            let at = now()
            report.requests += 1
            switch await Self.result({ () async throws(CloudError) in try await product.productDeviceCount(settings.product) }) {
            case .failure(let error):
                return try failed(batch, error, kind: "count-devices", at: at, report: &report)
            case .success(let count):
                let room = max(0, limit - count)
                try store.record(Attempt(at: at, kind: "count-devices", httpStatus: 200, outcome: "ok", detail: "\(count) of \(limit) in the product"), updates: [])
                if room < batch.count {
                    let reason = "the product is on a free plan, which holds \(limit) devices; it has \(count)"
                    let updates = batch[room...].map { refusal($0, reason: reason, outcome: "free-plan-full", permanent: true, report: &report) }
                    try store.record(Attempt(at: at, kind: "route", httpStatus: nil, outcome: "free-plan-full", detail: reason), updates: updates)
                    batch = Array(batch.prefix(room))
                    if batch.isEmpty { return .progress }
                }
            }
        }
        let at = now()
        report.requests += 1
        let result: ImportResult
        do {
            result = try await product.importDevices(batch.map(\.deviceID), into: settings.product, importSIMs: settings.importSIMs)
        } catch {
            return try failed(batch, error, kind: "import-devices", at: at, report: &report)
        }
        var updates: [ItemUpdate] = []
        var done: [QueueItem] = []
        var refused: [(QueueItem, String, String)] = []
        for item in batch {
            switch result.outcome(for: item.deviceID) {
            case .done(let present):
                if present { report.alreadyPresent += 1 } else { report.imported += 1 }
                updates.append(ItemUpdate(deviceID: item.deviceID, state: .done, reason: nil, outcome: present ? "existing" : "updated"))
                done.append(item)
            case .needsAttention(let array, let reason):
                refused.append((item, array, reason))
            case .notMentioned:
                updates.append(ItemUpdate(deviceID: item.deviceID, state: .pending, reason: "not in the import reply; will retry", outcome: "not-mentioned",
                                          nextAttempt: at.addingTimeInterval(settings.retry.delay(attempt: item.attempts + 1, jitter: jitter()).inSeconds)))
            }
        }
        for (item, array, reason) in refused {
            updates.append(refusal(item, reason: reason, outcome: array, permanent: settings.fallback.permanentRefusals.contains(array), report: &report))
        }
        try store.record(Attempt(at: at, kind: "import-devices", httpStatus: 200, outcome: "ok", detail: "\(batch.count) sent"), updates: updates)
        // Naming and grouping are follow-ups: a failure there does not undo the import.
        if settings.nameFromSerial || settings.shipmentGroup != nil {
            for item in done {
                let name = settings.nameFromSerial ? item.serial : nil
                guard name != nil || settings.shipmentGroup != nil else { continue }
                let at = now()
                report.requests += 1
                let outcome = await Self.result { () async throws(CloudError) in
                    try await product.updateDevice(item.deviceID, in: settings.product, name: name, groups: settings.shipmentGroup.map { [$0] })
                }
                switch outcome {
                case .success: try store.record(Attempt(at: at, kind: "update-device", httpStatus: 200, outcome: "ok"), updates: [])
                case .failure(let error):
                    try store.record(Attempt(at: at, kind: "update-device", httpStatus: Self.status(error), outcome: error.code, detail: error.description), updates: [])
                }
            }
        }
        return .progress
    }

    /// A device the product refused: to the test account when the policy says so and one is
    /// configured, otherwise needing attention with the reason.
    func refusal(_ item: QueueItem, reason: String, outcome: String, permanent: Bool, report: inout Report) -> ItemUpdate {
        if permanent && settings.fallback.policy == .onRefusal && testAccount != nil {
            report.toTestAccount += 1
            return ItemUpdate(deviceID: item.deviceID, state: .pending, destination: .testAccount, reason: "the product refused it (\(reason)); fallback to the test account",
                              outcome: outcome, nextAttempt: now())
        }
        report.needAttention += 1
        return ItemUpdate(deviceID: item.deviceID, state: .attention, reason: reason, outcome: outcome)
    }

    /// A whole request failed: record it, and decide for the batch.
    func failed(_ batch: [QueueItem], _ error: CloudError, kind: String, at: Date, report: inout Report) throws(StoreError) -> StepResult {
        let attempt = Attempt(at: at, kind: kind, httpStatus: Self.status(error), outcome: error.code, detail: error.description)
        switch error {
        case .tokenInvalid, .notFound:
            // Nothing about the devices: they stay pending, untouched, for when it is fixed.
            try store.record(attempt, updates: [])
            return .blocked(error)
        case .badRequest, .forbidden:
            // The product will not take these (the free-plan limit answers 400, a missing
            // scope 403): a retry will not fix it.
            let updates = batch.map { refusal($0, reason: error.description, outcome: error.code, permanent: true, report: &report) }
            try store.record(attempt, updates: updates)
            return .progress
        case .rateLimited(let after):
            try store.record(attempt, updates: batch.map { retryUpdate($0, error, at: at, after: after) })
            return .transient(error, retryAfter: after)
        case .server, .transport, .unexpected, .malformed:
            try store.record(attempt, updates: batch.map { retryUpdate($0, error, at: at, after: nil) })
            return .transient(error, retryAfter: nil)
        }
    }

    func retryUpdate(_ item: QueueItem, _ error: CloudError, at: Date, after: Duration?) -> ItemUpdate {
        // The item stays due now: the worker's own backoff paces the retries.
        ItemUpdate(deviceID: item.deviceID, state: .pending, reason: error.description, outcome: "retry", nextAttempt: at)
    }

    func moveToFallback(_ batch: [QueueItem], reason: String, report: inout Report) throws(StoreError) -> StepResult {
        let updates = batch.map { refusal($0, reason: reason, outcome: "no-product-credentials", permanent: true, report: &report) }
        try store.record(Attempt(at: now(), kind: "route", httpStatus: nil, outcome: "no-product-credentials", detail: reason), updates: updates)
        return .progress
    }

    /// The test-account path, per device: activate its SIM in the sandbox, then claim it to
    /// the test account (which needs it online); either way it is then pending migration.
    func testAccountBatch(_ batch: [QueueItem], report: inout Report) async throws(StoreError) -> StepResult {
        guard let testAccount else {
            let updates = batch.map { ItemUpdate(deviceID: $0.deviceID, state: .attention, reason: "the fallback needs a test-account token in the credentials file", outcome: "no-test-account") }
            try store.record(Attempt(at: now(), kind: "route", httpStatus: nil, outcome: "no-test-account"), updates: updates)
            report.needAttention += updates.count
            return .progress
        }
        for item in batch {
            if let iccid = item.iccid {
                let at = now()
                report.requests += 1
                switch await Self.result({ () async throws(CloudError) in try await testAccount.sim(iccid, .activate) }) {
                case .success:
                    try store.record(Attempt(at: at, kind: "sim-activate", httpStatus: 200, outcome: "ok", detail: "sandbox SIM \(iccid)"), updates: [])
                case .failure(let error) where error.isTransient || Self.status(error) == 401:
                    return try failed([item], error, kind: "sim-activate", at: at, report: &report)
                case .failure(let error):
                    try store.record(Attempt(at: at, kind: "sim-activate", httpStatus: Self.status(error), outcome: error.code, detail: error.description),
                                     updates: [ItemUpdate(deviceID: item.deviceID, state: .attention, reason: error.description, outcome: error.code)])
                    report.needAttention += 1
                    continue
                }
            }
            let at = now()
            report.requests += 1
            switch await Self.result({ () async throws(CloudError) in try await testAccount.claim(item.deviceID) }) {
            case .success:
                try store.record(Attempt(at: at, kind: "claim", httpStatus: 200, outcome: "ok"),
                                 updates: [ItemUpdate(deviceID: item.deviceID, state: .pendingMigration, reason: "claimed to the test account: it connected",
                                                      outcome: "claimed")])
            case .failure(let error) where error.isTransient:
                return try failed([item], error, kind: "claim", at: at, report: &report)
            case .failure(let error):
                // Not online yet (or not claimable): its SIM is active under the test account.
                try store.record(Attempt(at: at, kind: "claim", httpStatus: Self.status(error), outcome: error.code, detail: error.description),
                                 updates: [ItemUpdate(deviceID: item.deviceID, state: .pendingMigration,
                                                      reason: "SIM active under the test account; not claimed (\(error.code)): it has not come online", outcome: "sim-active")])
            }
        }
        return .progress
    }
}

extension SyncWorker {
    static func result<T>(_ body: () async throws(CloudError) -> T) async -> Result<T, CloudError> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }
}

