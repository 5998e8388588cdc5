import Foundation
import GRDB

/// A store's changes as its line database receives them (store and forward): every attempt
/// record, event, device and import-queue row the store writes is numbered, in order, by a
/// local sequence (`line_outbox`, filled by triggers in the same transaction as the write, so
/// no change can be recorded and not numbered). The line adapter asks for the changes after
/// the last one the line database holds and ships them; shipping the same change twice is
/// harmless (the line keeps each row by its key). The mobile secret is never read here.
public struct LineBatch: Sendable {
    /// The store's own identity: a new store (a replaced file) numbers from 1 again, and the
    /// line keeps each store's sequence apart.
    public var storeID: String
    /// The first and last sequence number in the batch (nil bounds: the batch is empty).
    public var after: Int64
    public var upTo: Int64
    /// When the oldest change still unshipped after this batch was recorded (nil: none is
    /// left), for the replication lag.
    public var oldestLeft: Date?
    public var attempts: [ProvisioningRecord]
    public var events: [EventRecord]
    public var devices: [DeviceRecord]
    public var imports: [ImportRow]
    public var isEmpty: Bool { upTo <= after }
    /// Changes in the batch (rows may be fewer: a row changed twice ships once).
    public var changes: Int
}

/// An import-queue row as the line sees it.
public struct ImportRow: Hashable, Sendable {
    public var deviceID: String
    public var destination: String
    public var state: String
    public var reason: String?
    public var attempts: Int
    public var updatedAt: Date
}

extension StationStore {
    static func registerLineMigration(_ migrator: inout DatabaseMigrator) {
        // Shipped: never edit.
        migrator.registerMigration("v6: the line outbox (changes numbered for the line database)") { db in
            try db.execute(sql: """
                CREATE TABLE line_outbox (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL,
                    row_id INTEGER,
                    device_id TEXT,
                    at DOUBLE NOT NULL
                );
                CREATE TABLE line_store (id TEXT PRIMARY KEY NOT NULL);
                INSERT INTO line_store (id) VALUES (lower(hex(randomblob(16))));
                """ + Self.lineTriggers + """
                INSERT INTO line_outbox (kind, device_id, at) SELECT 'device', device_id, passed_at FROM device ORDER BY passed_at;
                INSERT INTO line_outbox (kind, row_id, at) SELECT 'attempt', id, finished_at FROM provisioning_attempt ORDER BY id;
                INSERT INTO line_outbox (kind, row_id, at) SELECT 'event', id, at FROM event ORDER BY id;
                INSERT INTO line_outbox (kind, device_id, at) SELECT 'import', device_id, updated_at FROM import_item ORDER BY updated_at;
                """)
        }
    }

    /// A trigger per table and write (insert, and update where rows change) numbering each
    /// change in `line_outbox`, with the time it was written.
    static var lineTriggers: String {
        let tables: [(table: String, kind: String, key: String, column: String, updates: Bool)] = [
            ("provisioning_attempt", "attempt", "row_id", "id", true), ("event", "event", "row_id", "id", false),
            ("device", "device", "device_id", "device_id", true), ("import_item", "import", "device_id", "device_id", true),
        ]
        return tables.flatMap { item in
            (item.updates ? ["INSERT", "UPDATE"] : ["INSERT"]).map { write in
                """
                CREATE TRIGGER line_outbox_\(item.kind)_\(write.lowercased()) AFTER \(write) ON \(item.table) BEGIN
                    INSERT INTO line_outbox (kind, \(item.key), at) VALUES ('\(item.kind)', NEW.\(item.column), (julianday('now') - 2440587.5) * 86400.0); END;
                """
            }
        }.joined(separator: "\n")
    }

    /// The store's identity for the line (made once, by the v6 migration).
    public func lineStoreID() throws(StoreError) -> String {
        try read { db in try String.fetchOne(db, sql: "SELECT id FROM line_store") ?? "" }
    }

    /// The last change the store has numbered (0: none).
    public func lineLastSequence() throws(StoreError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM line_outbox") ?? 0 }
    }

    /// Up to `limit` changes after `after`, each row as it is now (a row changed several
    /// times in the batch is read once). The mobile secret is not read.
    public func lineChanges(after: Int64, limit: Int) throws(StoreError) -> LineBatch {
        let path = self.path
        return try read { db in
            let storeID = try String.fetchOne(db, sql: "SELECT id FROM line_store") ?? ""
            let seqs = try Int64.fetchAll(db, sql: "SELECT seq FROM line_outbox WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [after, limit])
            let upTo = seqs.last ?? after
            let left = try Double.fetchOne(db, sql: "SELECT MIN(at) FROM line_outbox WHERE seq > ?", arguments: [upTo])
            let range: StatementArguments = [after, upTo]
            let attemptRows = try Row.fetchAll(db, sql: """
                SELECT a.*, NULL AS import_state FROM provisioning_attempt a
                WHERE a.id IN (SELECT row_id FROM line_outbox WHERE kind = 'attempt' AND seq > ? AND seq <= ?) ORDER BY a.id
                """, arguments: range)
            let attempts = try attemptRows.map { row in try Self.provisioningRecord(row, secrets: false, path: path) }
            let events = try Row.fetchAll(db, sql: """
                SELECT * FROM event WHERE id IN (SELECT row_id FROM line_outbox WHERE kind = 'event' AND seq > ? AND seq <= ?) ORDER BY id
                """, arguments: range).map(EventRecord.init(row:))
            let devices = try Row.fetchAll(db, sql: """
                SELECT * FROM device WHERE device_id IN (SELECT device_id FROM line_outbox WHERE kind = 'device' AND seq > ? AND seq <= ?) ORDER BY passed_at
                """, arguments: range).map(DeviceRecord.init(row:))
            let imports = try Row.fetchAll(db, sql: """
                SELECT device_id, destination, state, reason, attempts, updated_at FROM import_item
                WHERE device_id IN (SELECT device_id FROM line_outbox WHERE kind = 'import' AND seq > ? AND seq <= ?) ORDER BY updated_at
                """, arguments: range).map { row in
                ImportRow(deviceID: row["device_id"], destination: row["destination"], state: row["state"], reason: row["reason"],
                          attempts: row["attempts"], updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
            }
            return LineBatch(storeID: storeID, after: after, upTo: upTo, oldestLeft: left.map(Date.init(timeIntervalSince1970:)), attempts: attempts,
                             events: events, devices: devices, imports: imports, changes: seqs.count)
        }
    }
}

extension StationStore {
    /// The stations whose records the store holds, each with the line its latest attempt
    /// names.
    public func stations() throws(StoreError) -> [(id: String, line: String?)] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.station_id, (SELECT line FROM provisioning_attempt a WHERE a.station_id = s.station_id ORDER BY a.finished_at DESC LIMIT 1) AS line
                FROM (SELECT station_id FROM provisioning_attempt UNION SELECT station_id FROM event UNION SELECT station_id FROM device) s ORDER BY s.station_id
                """).map { (id: $0["station_id"], line: $0["line"]) }
        }
    }
}
