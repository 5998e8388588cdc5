import Foundation
import ParticleCloud
import ParticleDevices
import StationStore

/// `station queue migrate`: moves devices handled under the test account into the product.
///
/// Per device (state `pending-migration`):
/// 1. Unclaim it from the test account (a device never claimed is fine).
/// 2. The SIM, by its SKU's activation class:
///    - fast or generally fast: release the SIM from the test account (which deactivates
///      it), then import the device and its SIM into the product, which activates it there;
///    - sometimes slow, an external SIM, or an unknown SKU: no release, no deactivation.
///      The product import takes the sandbox SIM over directly, which Particle documents for
///      a SIM owned by a member of the product's team: the test account must be one.
/// 3. The import's result decides: done, or needing attention with the reason.
///
/// Nothing here activates a SIM in the product before the import does.
public struct Migration: Sendable {
    public enum Path: String, Hashable, Sendable {
        /// Release from the test account, then import device and SIM.
        case releaseThenImport = "release-then-import"
        /// Import device and SIM without releasing (slow-reactivation SIMs).
        case importWithoutRelease = "import-without-release"
    }

    public struct Result: Hashable, Sendable {
        public var migrated: [String] = []
        public var failed: [(String, String)] = []
        public static func == (a: Self, b: Self) -> Bool { a.migrated == b.migrated && a.failed.map(\.0) == b.failed.map(\.0) }
        public func hash(into hasher: inout Hasher) { hasher.combine(migrated) }
    }

    public let store: StationStore
    public let product: ParticleCloudClient
    public let testAccount: ParticleCloudClient
    public let productKey: ProductKey
    /// The SKU the station config names when the line makes exactly one (else unknown).
    public let lineSKU: String?
    public var now: @Sendable () -> Date = { Date() }

    public init(store: StationStore, product: ParticleCloudClient, testAccount: ParticleCloudClient, productKey: ProductKey, lineSKU: String?) {
        self.store = store
        self.product = product
        self.testAccount = testAccount
        self.productKey = productKey
        self.lineSKU = lineSKU
    }

    /// The path for a SKU; an unknown SKU counts as slow.
    public static func path(forSKU name: String?, catalog: PlatformCatalog = .bundled) -> Path {
        guard let name, let (_, sku) = catalog.sku(named: name) else { return .importWithoutRelease }
        switch sku.simActivation {
        case .fast, .generallyFast: return .releaseThenImport
        case .sometimesSlow, .externalSIM: return .importWithoutRelease
        }
    }

    public func run() async throws(StoreError) -> Result {
        var result = Result()
        for item in try store.items(state: .pendingMigration) {
            let path = Self.path(forSKU: item.sku ?? lineSKU)
            if let reason = try await migrate(item, path: path) {
                result.failed.append((item.deviceID, reason))
            } else {
                result.migrated.append(item.deviceID)
            }
        }
        return result
    }

    /// One device; nil when it is in the product now, else the reason.
    func migrate(_ item: QueueItem, path: Path) async throws(StoreError) -> String? {
        func note(_ kind: String, _ error: CloudError?, update: ItemUpdate? = nil) throws(StoreError) {
            try store.record(Attempt(at: now(), kind: kind, httpStatus: error.map { SyncWorker.status($0) } ?? 200, outcome: error?.code ?? "ok",
                                     detail: error?.description ?? "\(path.rawValue) \(item.deviceID)"),
                             updates: update.map { [$0] } ?? [])
        }
        func stop(_ kind: String, _ error: CloudError) throws(StoreError) -> String {
            try note(kind, error, update: ItemUpdate(deviceID: item.deviceID, state: .pendingMigration, reason: "migration stopped at \(kind): \(error.description)",
                                                    outcome: error.code, countsAsAttempt: true))
            return error.description
        }
        switch await SyncWorker.result({ () async throws(CloudError) in try await testAccount.unclaim(item.deviceID) }) {
        case .success: try note("unclaim", nil)
        case .failure(.notFound): try note("unclaim", .notFound(body: "not claimed to the test account"))
        case .failure(let error): return try stop("unclaim", error)
        }
        if path == .releaseThenImport, let iccid = item.iccid {
            switch await SyncWorker.result({ () async throws(CloudError) in try await testAccount.releaseSIM(iccid) }) {
            case .success: try note("sim-release", nil)
            case .failure(let error): return try stop("sim-release", error)
            }
        }
        let imported = await SyncWorker.result { () async throws(CloudError) in
            try await product.importDevices([item.deviceID], into: productKey, importSIMs: item.importSIM)
        }
        switch imported {
        case .failure(let error):
            return try stop("import-devices", error)
        case .success(let reply):
            switch reply.outcome(for: item.deviceID) {
            case .done(let present):
                try note("import-devices", nil, update: ItemUpdate(deviceID: item.deviceID, state: .done, destination: .product,
                                                                   reason: "migrated from the test account (\(path.rawValue))", outcome: present ? "existing" : "updated"))
                return nil
            case .needsAttention(let array, let reason):
                try note("import-devices", nil, update: ItemUpdate(deviceID: item.deviceID, state: .attention, destination: .product, reason: reason, outcome: array))
                return reason
            case .notMentioned:
                try note("import-devices", nil, update: ItemUpdate(deviceID: item.deviceID, state: .pendingMigration, reason: "not in the import reply; run migrate again",
                                                                   outcome: "not-mentioned"))
                return "not in the import reply"
            }
        }
    }
}
