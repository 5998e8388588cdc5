import Foundation
import StationStore

/// What one sync did.
public struct LineSyncReport: Hashable, Sendable {
    /// Changes shipped (a row changed several times ships once, but each change counts).
    public let changes: Int
    public let batches: Int
    /// The store's last change the line now holds.
    public let upTo: Int64
}

/// Store and forward: a station's store ships its changes to the line database in order, in
/// batches, each batch one transaction that also moves the store's cursor there. Killed or cut
/// off mid-batch, the transaction rolls back and the next sync ships that batch again; a batch
/// committed but not yet known to the station is skipped by the cursor. Nothing is lost and
/// nothing counts twice.
public enum LineReplicator {
    public static let batchSize = 500

    /// Ships everything the store has that the line does not, then notes the contact (lag 0
    /// when caught up).
    public static func sync(_ store: StationStore, into database: LineDatabase, station: String, line: String?, batchSize: Int = batchSize,
                            now: @Sendable () -> Date = Date.init) async throws(LineError) -> LineSyncReport {
        func local<T>(_ body: () throws(StoreError) -> T) throws(LineError) -> T {
            do { return try body() } catch { throw LineError(kind: .store, database: database.url.description, detail: error.description) }
        }
        let storeID = try local { () throws(StoreError) in try store.lineStoreID() }
        try await database.requireSchema()
        var after = try await database.shipped(station: station, store: storeID)
        var changes = 0, batches = 0
        while true {
            let batch = try local { () throws(StoreError) in try store.lineChanges(after: after, limit: batchSize) }
            let lag = batch.oldestLeft.map { max(0, now().timeIntervalSince($0)) } ?? 0
            let shippedTo = try await database.ship(batch, station: station, line: line, lagSeconds: lag)
            if batch.isEmpty { break }
            changes += batch.changes
            batches += 1
            // Another process may have shipped past this batch: go on from where the line is.
            after = max(shippedTo, batch.upTo)
        }
        return LineSyncReport(changes: changes, batches: batches, upTo: after)
    }
}
