import Foundation
import StationConfig
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
    /// when caught up). `committed`: told the store's last change the line holds after each
    /// batch's transaction commits (the benchmark times each change's lag with it).
    public static func sync(_ store: StationStore, into database: LineDatabase, station: String, line: String?, batchSize: Int = batchSize,
                            now: @Sendable () -> Date = Date.init, committed: (Int64) async -> Void = { _ in }) async throws(LineError) -> LineSyncReport {
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
            await committed(after)
        }
        return LineSyncReport(changes: changes, batches: batches, upTo: after)
    }

    /// How long one operation of a background pass may take (a batch of 500 takes well under
    /// a second): past it the connection is dropped and the pass fails, so a server that
    /// vanished mid-query holds the pass for this long at most, not for the default minute.
    public static let passOperationTimeout = Duration.seconds(15)

    /// One pass of `station run`'s background replication (`[line]`): connects, ships what
    /// the line lacks, disconnects. Nil when the line is caught up, else what stopped it (the
    /// records stay in the store for the next pass). `committed`: as for `sync`.
    public static func pass(_ store: StationStore, line: LineConfig, station: String, lineName: String?,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            committed: (Int64) async -> Void = { _ in }) async -> String? {
        do throws(LineError) {
            let password = try LinePassword.resolve(line.database, file: line.passwordFile, environment: environment)
            _ = try await LineDatabase.with(line.database, password: password, operationTimeout: passOperationTimeout) { database throws(LineError) in
                try await sync(store, into: database, station: station, line: lineName, committed: committed)
            }
            return nil
        } catch {
            return error.description
        }
    }
}
