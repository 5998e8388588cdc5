import Foundation
import GRDB

/// One station's durable record: the devices it passed, their import queue, every sync
/// attempt, and the lease that lets one process at a time run the sync worker. One SQLite
/// file in WAL mode: several station processes may open it at once (readers never wait,
/// writers wait up to the busy timeout).
///
/// Migrations are append-only: a shipped migration never changes; a new need is a new one.
public final class StationStore: Sendable {
    public let path: String
    let pool: DatabasePool

    /// Opens and migrates the store.
    /// - Parameters:
    ///   - create: make the file (and its folder) when missing, owner-only (0600) or 0640
    ///     with `group`. Commands that only read pass false: a wrong path is
    ///     `StoreError.missing`, never a new empty store.
    ///   - group: the group (`[store] group`) a new store is readable by.
    public init(path: String, create: Bool = true, group: String? = nil, busyTimeout: TimeInterval = 10) throws(StoreError) {
        self.path = path
        if create {
            do { try PrivateFile.create(path, group: group) } catch { throw .open(path: path, detail: error.detail) }
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .missing(path: path) }
            guard !isDirectory.boolValue else { throw .open(path: path, detail: "it is a folder; name the store's .sqlite file") }
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        // Every commit reaches the disk before it returns (WAL's default, NORMAL, may lose the
        // last commits in a power cut): a PASS and its queued import are never lost once the
        // screen shows PASS. The cost is one fsync per commit, a few per device.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        do {
            // Several processes may open a brand-new (or older) store at once: the schema is
            // set up or upgraded by one at a time (an exclusive flock on the store's folder;
            // SQLite's own locks are on the file and unaffected), each finding the others'
            // migrations applied.
            let lock = try Self.lockFolder(of: path)
            defer { flock(lock, LOCK_UN); close(lock) }
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw .open(path: path, detail: "\(error)")
        }
    }

    /// Opens an existing store read-only, as viewers do (`station line serve`): SQLite itself
    /// refuses every write on this connection, and nothing is migrated. A store older than
    /// this station's schema is refused with what to do (any station command that writes
    /// upgrades it).
    public init(readingOnly path: String, busyTimeout: TimeInterval = 10) throws(StoreError) {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .missing(path: path) }
        guard !isDirectory.boolValue else { throw .open(path: path, detail: "it is a folder; name the store's .sqlite file") }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(busyTimeout)
        let current: Bool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            current = try pool.read { db in try Self.migrator.hasCompletedMigrations(db) }
        } catch {
            throw .open(path: path, detail: "\(error)")
        }
        guard current else {
            throw .open(path: path, detail: "it was written by an older station, and a viewer does not upgrade it; run `station queue status --store \(path)` once to upgrade it")
        }
    }

    struct LockError: Error, CustomStringConvertible {
        let description: String
    }

    /// An exclusive lock on the folder holding the store, released by the caller.
    static func lockFolder(of path: String) throws -> Int32 {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw LockError(description: "cannot open the folder \(folder) (errno \(errno))") }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let code = errno
            close(fd)
            throw LockError(description: "cannot lock the folder \(folder) (errno \(code))")
        }
        return fd
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        // Shipped: never edit. Add new migrations below.
        migrator.registerMigration("v1: devices, import queue, attempts, sync lease") { db in
            try db.execute(sql: """
                CREATE TABLE device (
                    device_id TEXT PRIMARY KEY NOT NULL,
                    serial TEXT,
                    iccid TEXT,
                    imei TEXT,
                    platform_id INTEGER,
                    sku TEXT,
                    station_id TEXT NOT NULL,
                    passed_at DOUBLE NOT NULL
                );
                CREATE TABLE import_item (
                    device_id TEXT PRIMARY KEY NOT NULL REFERENCES device(device_id),
                    destination TEXT NOT NULL,
                    state TEXT NOT NULL,
                    reason TEXT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    import_sim INTEGER NOT NULL,
                    enqueued_at DOUBLE NOT NULL,
                    next_attempt_at DOUBLE NOT NULL,
                    updated_at DOUBLE NOT NULL
                );
                CREATE INDEX import_item_due ON import_item(state, next_attempt_at, enqueued_at);
                CREATE TABLE import_attempt (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at DOUBLE NOT NULL,
                    kind TEXT NOT NULL,
                    http_status INTEGER,
                    outcome TEXT NOT NULL,
                    detail TEXT
                );
                CREATE TABLE import_attempt_device (
                    attempt_id INTEGER NOT NULL REFERENCES import_attempt(id),
                    device_id TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    PRIMARY KEY (attempt_id, device_id)
                );
                CREATE INDEX import_attempt_device_by_device ON import_attempt_device(device_id);
                CREATE TABLE sync_lease (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    holder TEXT NOT NULL,
                    expires_at DOUBLE NOT NULL
                );
                """)
        }
        registerProvisioningMigration(&migrator)
        registerLineMigration(&migrator)
        return migrator
    }

    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.write(body) } catch { throw .database(path: path, detail: "\(error)") }
    }

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.read(body) } catch { throw .database(path: path, detail: "\(error)") }
    }

    /// `PRAGMA integrity_check`: `["ok"]` for a sound file, else SQLite's findings.
    public func integrityCheck() throws(StoreError) -> [String] {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    // MARK: Devices and the queue

    /// Records a passed device and queues its import, in one transaction. Enqueuing a device
    /// already queued changes nothing (its history stays).
    /// - Returns: false when the device was already queued.
    @discardableResult
    public func enqueue(_ device: DeviceRecord, destination: Destination = .product, importSIM: Bool, now: Date = Date()) throws(StoreError) -> Bool {
        try write { db in try Self.enqueue(db, device, destination: destination, importSIM: importSIM, now: now) }
    }

    /// Queues many devices in one transaction: all of them or, if anything fails (or the
    /// process is killed), none. A tray of 100,000 lines is one commit.
    /// - Returns: how many were not queued before.
    @discardableResult
    public func enqueueAll(_ devices: [DeviceRecord], destination: Destination = .product, importSIM: Bool, now: Date = Date()) throws(StoreError) -> Int {
        try write { db in
            var added = 0
            for device in devices where try Self.enqueue(db, device, destination: destination, importSIM: importSIM, now: now) { added += 1 }
            return added
        }
    }

    static func enqueue(_ db: Database, _ device: DeviceRecord, destination: Destination, importSIM: Bool, now: Date) throws -> Bool {
            // Cached statements: a tray of 100,000 devices compiles each once.
            try db.cachedStatement(sql: """
                INSERT INTO device (device_id, serial, iccid, imei, platform_id, sku, station_id, passed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(device_id) DO UPDATE SET
                    serial = COALESCE(excluded.serial, serial), iccid = COALESCE(excluded.iccid, iccid),
                    imei = COALESCE(excluded.imei, imei), platform_id = COALESCE(excluded.platform_id, platform_id),
                    sku = COALESCE(excluded.sku, sku)
                """).execute(arguments: [device.deviceID, device.serial, device.iccid, device.imei, device.platformID, device.sku, device.stationID, device.passedAt.timeIntervalSince1970])
            let t = now.timeIntervalSince1970
            try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO import_item (device_id, destination, state, import_sim, enqueued_at, next_attempt_at, updated_at)
                VALUES (?, ?, 'pending', ?, ?, ?, ?)
                """).execute(arguments: [device.deviceID, destination.rawValue, importSIM, t, t, t])
            return db.changesCount > 0
    }

    /// Pending items whose time has come, oldest first.
    /// - Parameter platformID: only devices of this platform (a bench serving several
    ///   products, one per platform).
    public func due(limit: Int, destination: Destination? = nil, platformID: Int? = nil, now: Date = Date()) throws(StoreError) -> [QueueItem] {
        try read { db in
            var sql = "SELECT i.*, d.iccid, d.serial, d.sku FROM import_item i JOIN device d USING (device_id) WHERE i.state = 'pending' AND i.next_attempt_at <= ?"
            var arguments: StatementArguments = [now.timeIntervalSince1970]
            if let platformID {
                sql += " AND d.platform_id = ?"
                arguments += [platformID]
            }
            if let destination {
                sql += " AND i.destination = ?"
                arguments += [destination.rawValue]
            }
            sql += " ORDER BY i.enqueued_at, i.device_id LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(QueueItem.init)
        }
    }

    /// The earliest time a pending item becomes due (nil: nothing pending).
    public func nextDue(platformID: Int? = nil) throws(StoreError) -> Date? {
        try read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(i.next_attempt_at) FROM import_item i JOIN device d USING (device_id) WHERE i.state = 'pending'"
                                + (platformID == nil ? "" : " AND d.platform_id = ?"), arguments: StatementArguments(platformID.map { [$0] } ?? []))
                .map { Date(timeIntervalSince1970: $0) }
        }
    }

    /// Records one request and what it did to each item, in one transaction.
    public func record(_ attempt: Attempt, updates: [ItemUpdate]) throws(StoreError) {
        try write { db in try Self.record(db, attempt, updates: updates) }
    }

    static func record(_ db: Database, _ attempt: Attempt, updates: [ItemUpdate]) throws {
            try db.execute(sql: "INSERT INTO import_attempt (at, kind, http_status, outcome, detail) VALUES (?, ?, ?, ?, ?)",
                           arguments: [attempt.at.timeIntervalSince1970, attempt.kind, attempt.httpStatus, attempt.outcome, attempt.detail])
            let id = db.lastInsertedRowID
            for update in updates {
                try db.execute(sql: "INSERT OR REPLACE INTO import_attempt_device (attempt_id, device_id, outcome) VALUES (?, ?, ?)",
                               arguments: [id, update.deviceID, update.outcome])
                try db.execute(sql: """
                    UPDATE import_item SET state = ?, destination = COALESCE(?, destination), reason = ?, attempts = attempts + ?,
                        next_attempt_at = ?, updated_at = ? WHERE device_id = ?
                    """, arguments: [update.state.rawValue, update.destination?.rawValue, update.reason, update.countsAsAttempt ? 1 : 0,
                                     (update.nextAttempt ?? attempt.at).timeIntervalSince1970, attempt.at.timeIntervalSince1970, update.deviceID])
            }
    }

    /// Puts items needing attention (or all of a state) back in the queue now.
    @discardableResult
    public func retry(_ deviceIDs: [String]? = nil, from state: ItemState = .attention, now: Date = Date()) throws(StoreError) -> Int {
        try write { db in
            var sql = "UPDATE import_item SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE state = ?"
            var arguments: StatementArguments = [now.timeIntervalSince1970, now.timeIntervalSince1970, state.rawValue]
            if let deviceIDs {
                sql += " AND device_id IN (\(deviceIDs.map { _ in "?" }.joined(separator: ",")))"
                arguments += StatementArguments(deviceIDs)
            }
            try db.execute(sql: sql, arguments: arguments)
            return db.changesCount
        }
    }

    public func counts() throws(StoreError) -> [ItemState: Int] {
        try read { db in
            var result: [ItemState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM import_item GROUP BY state") {
                if let state = ItemState(rawValue: row["state"]) { result[state] = row["n"] }
            }
            return result
        }
    }

    public func items(state: ItemState? = nil) throws(StoreError) -> [QueueItem] {
        try read { db in
            let base = "SELECT i.*, d.iccid, d.serial, d.sku FROM import_item i JOIN device d USING (device_id)"
            if let state {
                return try Row.fetchAll(db, sql: base + " WHERE i.state = ? ORDER BY i.enqueued_at, i.device_id", arguments: [state.rawValue]).map(QueueItem.init)
            }
            return try Row.fetchAll(db, sql: base + " ORDER BY i.enqueued_at, i.device_id").map(QueueItem.init)
        }
    }

    public func device(_ id: String) throws(StoreError) -> DeviceRecord? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM device WHERE device_id = ?", arguments: [id]).map(DeviceRecord.init) }
    }

    /// Every attempt that concerned one device, oldest first.
    public func history(_ deviceID: String) throws(StoreError) -> [(Attempt, String)] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.*, ad.outcome AS device_outcome FROM import_attempt a JOIN import_attempt_device ad ON ad.attempt_id = a.id
                WHERE ad.device_id = ? ORDER BY a.id
                """, arguments: [deviceID]).map { (Attempt(row: $0), $0["device_outcome"]) }
        }
    }

    public func attempts() throws(StoreError) -> [Attempt] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM import_attempt ORDER BY id").map(Attempt.init) }
    }

    // MARK: The sync lease

    /// Takes the lease if it is free, expired, or already this holder's; false when another
    /// live process holds it.
    public func acquireLease(holder: String, for duration: TimeInterval, now: Date = Date()) throws(StoreError) -> Bool {
        try write { db in
            let t = now.timeIntervalSince1970
            try db.execute(sql: """
                INSERT INTO sync_lease (id, holder, expires_at) VALUES (1, ?, ?)
                ON CONFLICT(id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE sync_lease.holder = excluded.holder OR sync_lease.expires_at < ?
                """, arguments: [holder, t + duration, t])
            return try String.fetchOne(db, sql: "SELECT holder FROM sync_lease WHERE id = 1") == holder
        }
    }

    /// Takes the lease from `previous` (a holder known to be dead), only if it still holds it.
    public func takeOverLease(from previous: String, holder: String, for duration: TimeInterval, now: Date = Date()) throws(StoreError) -> Bool {
        try write { db in
            try db.execute(sql: "UPDATE sync_lease SET holder = ?, expires_at = ? WHERE id = 1 AND holder = ?",
                           arguments: [holder, now.timeIntervalSince1970 + duration, previous])
            return db.changesCount == 1
        }
    }

    public func releaseLease(holder: String) throws(StoreError) {
        try write { db in try db.execute(sql: "DELETE FROM sync_lease WHERE id = 1 AND holder = ?", arguments: [holder]) }
    }

    /// Who holds the lease and until when (nil: nobody).
    public func lease() throws(StoreError) -> (holder: String, expires: Date)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT holder, expires_at FROM sync_lease WHERE id = 1").map { ($0["holder"], Date(timeIntervalSince1970: $0["expires_at"])) }
        }
    }
}
