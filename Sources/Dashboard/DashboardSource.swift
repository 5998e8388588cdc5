import Foundation
import StationReports
import StationStore

/// Station stores, each opened read-only (SQLite refuses any write on them), merged as
/// `station report --store A --store B` merges them.
public struct StoreDashboardSource: DashboardSource {
    public let stores: [StationStore]
    let explain: @Sendable (String) -> FailureExplanation?

    public init(paths: [String], explain: @escaping @Sendable (String) -> FailureExplanation?) throws(StoreError) {
        var opened: [StationStore] = []
        for path in paths { opened.append(try StationStore(readingOnly: path)) }
        stores = opened
        self.explain = explain
    }

    public var name: String { "stores: " + stores.map(\.path).joined(separator: ", ") }

    /// Every store's records in the filter, merged (SQLite reads block: off the pool).
    func records(_ filter: RecordFilter) async throws -> [ProvisioningRecord] {
        let stores = self.stores
        return try await OwnThread.run { try stores.flatMap { store throws(StoreError) in try store.records(filter) } }
    }

    public func overview(_ range: DashboardRange, now: Date) async throws -> DashboardOverview {
        let records = try await records(RecordFilter(since: range.since, until: range.until))
        return DashboardOverview(records: records, range: range, now: now, explain: explain)
    }

    public func station(_ id: String, range: DashboardRange) async throws -> StationView? {
        StationView(id: id, records: try await records(RecordFilter(since: range.since, until: range.until, stationID: id)), range: range, explain: explain)
    }

    public func failures(_ range: DashboardRange, station: String?) async throws -> FailuresView {
        FailuresView(records: try await records(RecordFilter(since: range.since, until: range.until)), range: range, station: station, explain: explain)
    }

    public func device(_ id: String) async throws -> DeviceHistory? {
        DeviceHistory(deviceID: id, records: try await records(RecordFilter()), explain: explain)
    }

    public func find(_ term: String) async throws -> String? {
        DeviceHistory.find(term, in: try await records(RecordFilter()))
    }

    /// Each store's last numbered change (its line outbox): any new record moves it.
    public func version() async throws -> String {
        let stores = self.stores
        return try await OwnThread.run { try stores.map { store throws(StoreError) in String(try store.lineLastSequence()) }.joined(separator: ".") }
    }
}

/// Blocking work (SQLite reads) on a thread of its own, never on the cooperative pool.
enum OwnThread {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }
}
