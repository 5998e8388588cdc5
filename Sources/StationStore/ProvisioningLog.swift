import Foundation
import GRDB

/// One provisioning attempt on one device, as QA reads it: who, where, when, what the device
/// held before and after, what was written (with SHA-256), how each step went, the result.
public struct ProvisioningRecord: Hashable, Sendable, Codable {
    public struct StepTime: Hashable, Sendable, Codable {
        public var step: String
        /// Seconds from the attempt's start.
        public var at: Double
        public init(step: String, at: Double) {
            self.step = step
            self.at = at
        }
    }

    public struct ModuleVersion: Hashable, Sendable, Codable {
        public var function: String
        public var index: Int
        public var version: Int
        public var valid: Bool
        /// The module's own SHA-256 (its suffix field), hex, when the channel that read it
        /// gave one (JSON key left out otherwise; records from before it decode as nil).
        public var sha256: String?
        public init(function: String, index: Int, version: Int, valid: Bool, sha256: String? = nil) {
            self.function = function
            self.index = index
            self.version = version
            self.valid = valid
            self.sha256 = sha256
        }
    }

    public struct WrittenModule: Hashable, Sendable, Codable {
        public var file: String
        public var sha256: String
        public var bytes: Int
        /// `written`, `already-installed` (already byte-identical; `skipped` in stores before v4), `control-request`.
        public var action: String
        public var verified: Bool
        public init(file: String, sha256: String, bytes: Int, action: String, verified: Bool) {
            self.file = file
            self.sha256 = sha256
            self.bytes = bytes
            self.action = action
            self.verified = verified
        }
    }

    public var deviceID: String
    public var attempt: Int
    public var stationID: String
    public var line: String?
    public var operatorName: String?
    public var startedAt: Date
    public var finishedAt: Date
    public var passed: Bool
    public var failureCode: String?
    public var failureMessage: String?
    public var platform: String?
    public var serialNumber: String?
    public var iccid: String?
    public var imei: String?
    /// The Device OS release the device reported when identified (before flashing).
    public var deviceOSVersion: String?
    /// The Device OS release its verified modules make after this attempt (nil: not read).
    public var deviceOSAfter: String?
    public var scan: String?
    /// The mobile secret from the device's Gen 3 sticker: in the store only; read back only
    /// when a `RecordFilter` asks for secrets (`station report --include-secrets`).
    public var mobileSecret: String?
    public var steps: [StepTime]
    public var modulesBefore: [ModuleVersion]
    public var modulesAfter: [ModuleVersion]
    public var written: [WrittenModule]
    /// The import queue's state for the device when the record was read (nil: not queued).
    public var importOutcome: String?
    /// Its Device Protection state as it reported it (`open`, `protected`, `service`; nil:
    /// it could not say, e.g. Device OS before 6). `service`: flashed in Service Mode.
    public var protection: String?

    public init(deviceID: String, attempt: Int, stationID: String, line: String? = nil, operatorName: String? = nil, startedAt: Date, finishedAt: Date,
                passed: Bool, failureCode: String? = nil, failureMessage: String? = nil, platform: String? = nil, serialNumber: String? = nil,
                iccid: String? = nil, imei: String? = nil, deviceOSVersion: String? = nil, deviceOSAfter: String? = nil, scan: String? = nil, steps: [StepTime] = [],
                modulesBefore: [ModuleVersion] = [], modulesAfter: [ModuleVersion] = [], written: [WrittenModule] = [], importOutcome: String? = nil,
                mobileSecret: String? = nil, protection: String? = nil) {
        self.mobileSecret = mobileSecret
        self.protection = protection
        self.deviceID = deviceID
        self.attempt = attempt
        self.stationID = stationID
        self.line = line
        self.operatorName = operatorName
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.passed = passed
        self.failureCode = failureCode
        self.failureMessage = failureMessage
        self.platform = platform
        self.serialNumber = serialNumber
        self.iccid = iccid
        self.imei = imei
        self.deviceOSVersion = deviceOSVersion
        self.deviceOSAfter = deviceOSAfter
        self.scan = scan
        self.steps = steps
        self.modulesBefore = modulesBefore
        self.modulesAfter = modulesAfter
        self.written = written
        self.importOutcome = importOutcome
    }

    public var duration: Double { finishedAt.timeIntervalSince(startedAt) }
}

/// An entry of the append-only event log.
public struct EventRecord: Hashable, Sendable, Codable {
    public var id: Int64
    public var at: Date
    public var stationID: String
    public var deviceID: String?
    public var kind: String
    public var detail: String?
}

extension EventRecord {
    init(row: Row) {
        self.init(id: row["id"], at: Date(timeIntervalSince1970: row["at"]), stationID: row["station_id"], deviceID: row["device_id"],
                  kind: row["kind"], detail: row["detail"])
    }
}

/// What the records can be narrowed to.
public struct RecordFilter: Hashable, Sendable {
    /// Attempts finished at or after this time.
    public var since: Date?
    /// Attempts finished before this time.
    public var until: Date?
    public var stationID: String?
    public var operatorName: String?
    /// Read the mobile secrets too (an explicit export; never by default).
    public var includeSecrets: Bool
    public init(since: Date? = nil, until: Date? = nil, stationID: String? = nil, operatorName: String? = nil, includeSecrets: Bool = false) {
        self.since = since
        self.until = until
        self.stationID = stationID
        self.operatorName = operatorName
        self.includeSecrets = includeSecrets
    }
}

extension StationStore {
    static func registerProvisioningMigration(_ migrator: inout DatabaseMigrator) {
        // Shipped: never edit.
        migrator.registerMigration("v2: provisioning jobs, attempt records, event log") { db in
            try db.execute(sql: """
                CREATE TABLE job (
                    device_id TEXT PRIMARY KEY NOT NULL,
                    station_id TEXT NOT NULL,
                    step TEXT NOT NULL,
                    snapshot TEXT NOT NULL,
                    updated_at DOUBLE NOT NULL
                );
                CREATE TABLE provisioning_attempt (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    device_id TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    station_id TEXT NOT NULL,
                    line TEXT,
                    operator TEXT,
                    started_at DOUBLE NOT NULL,
                    finished_at DOUBLE NOT NULL,
                    passed INTEGER NOT NULL,
                    failure_code TEXT,
                    failure_message TEXT,
                    platform TEXT,
                    serial TEXT,
                    iccid TEXT,
                    imei TEXT,
                    device_os TEXT,
                    scan TEXT,
                    detail TEXT NOT NULL,
                    UNIQUE (station_id, device_id, attempt)
                );
                CREATE INDEX provisioning_attempt_by_time ON provisioning_attempt(finished_at);
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at DOUBLE NOT NULL,
                    station_id TEXT NOT NULL,
                    device_id TEXT,
                    kind TEXT NOT NULL,
                    detail TEXT
                );
                CREATE TRIGGER event_is_append_only_update BEFORE UPDATE ON event
                    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
                CREATE TRIGGER event_is_append_only_delete BEFORE DELETE ON event
                    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
                """)
        }
        // Shipped: never edit.
        migrator.registerMigration("v3: the sticker's mobile secret on attempt records") { db in
            try db.execute(sql: "ALTER TABLE provisioning_attempt ADD COLUMN mobile_secret TEXT")
        }
        // Shipped: never edit.
        migrator.registerMigration("v4: the Device OS a device holds after its attempt") { db in
            try db.execute(sql: "ALTER TABLE provisioning_attempt ADD COLUMN device_os_after TEXT")
        }
        // Shipped: never edit.
        migrator.registerMigration("v5: the Device Protection state on attempt records") { db in
            try db.execute(sql: "ALTER TABLE provisioning_attempt ADD COLUMN protection TEXT")
        }
    }

    struct Detail: Codable {
        var steps: [ProvisioningRecord.StepTime]
        var modulesBefore: [ProvisioningRecord.ModuleVersion]
        var modulesAfter: [ProvisioningRecord.ModuleVersion]
        var written: [ProvisioningRecord.WrittenModule]
    }

    // MARK: Jobs

    /// A job's snapshot as the pipeline saves it.
    public struct JobSnapshot: Sendable {
        public var deviceID: String
        public var stationID: String
        public var step: String
        public var snapshot: Data
        public init(deviceID: String, stationID: String, step: String, snapshot: Data) {
            self.deviceID = deviceID
            self.stationID = stationID
            self.step = step
            self.snapshot = snapshot
        }
    }

    /// Saves a job's snapshot (the pipeline's durable record), replacing the previous one.
    public func saveJob(deviceID: String, stationID: String, step: String, snapshot: Data, now: Date = Date()) throws(StoreError) {
        try saveJob(JobSnapshot(deviceID: deviceID, stationID: stationID, step: step, snapshot: snapshot), now: now)
    }

    public func saveJob(_ job: JobSnapshot, now: Date = Date()) throws(StoreError) {
        try write { db in try Self.saveJob(db, job, now: now) }
    }

    static func saveJob(_ db: Database, _ job: JobSnapshot, now: Date) throws {
        try db.execute(sql: """
            INSERT INTO job (device_id, station_id, step, snapshot, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(device_id) DO UPDATE SET station_id = excluded.station_id, step = excluded.step,
                snapshot = excluded.snapshot, updated_at = excluded.updated_at
            """, arguments: [job.deviceID, job.stationID, job.step, String(decoding: job.snapshot, as: UTF8.self), now.timeIntervalSince1970])
    }

    /// Every saved job snapshot of a station.
    public func jobs(stationID: String) throws(StoreError) -> [Data] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT snapshot FROM job WHERE station_id = ? ORDER BY updated_at", arguments: [stationID]).map { Data($0.utf8) }
        }
    }

    // MARK: Attempt records

    /// Records a finished attempt (once: recording the same attempt again replaces it, so a
    /// station restarted between recording and saving cannot count it twice).
    public func record(_ record: ProvisioningRecord) throws(StoreError) {
        try self.record(record, then: .none)
    }

    /// What a finished attempt does to the import queue, in the same transaction as its
    /// record: a PASS queues the device, a FAIL after it was queued takes the import back.
    public enum ImportChange: Sendable {
        case none
        case enqueue(DeviceRecord, destination: Destination, importSIM: Bool)
        case withdraw(Attempt, ItemUpdate)
    }

    /// Records a finished attempt and its import change in one transaction: a crash (or a
    /// power cut: the store runs `synchronous=FULL`) leaves both or neither, never a passed
    /// device that is not queued.
    /// With `saving`, the job's snapshot as the attempt ends is saved in the same transaction
    /// (a job marked finished always has its record).
    public func record(_ record: ProvisioningRecord, then change: ImportChange, saving job: JobSnapshot? = nil) throws(StoreError) {
        let detail: String
        do {
            detail = String(decoding: try JSONEncoder().encode(Detail(steps: record.steps, modulesBefore: record.modulesBefore,
                                                                      modulesAfter: record.modulesAfter, written: record.written)), as: UTF8.self)
        } catch {
            throw .database(path: path, detail: "cannot encode the record: \(error)")
        }
        try write { db in
            try db.execute(sql: """
                INSERT INTO provisioning_attempt (device_id, attempt, station_id, line, operator, started_at, finished_at, passed, failure_code,
                    failure_message, platform, serial, iccid, imei, device_os, scan, detail, mobile_secret, device_os_after, protection)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(station_id, device_id, attempt) DO UPDATE SET finished_at = excluded.finished_at, passed = excluded.passed,
                    failure_code = excluded.failure_code, failure_message = excluded.failure_message, detail = excluded.detail,
                    device_os_after = excluded.device_os_after, protection = excluded.protection
                """, arguments: [record.deviceID, record.attempt, record.stationID, record.line, record.operatorName,
                                 record.startedAt.timeIntervalSince1970, record.finishedAt.timeIntervalSince1970, record.passed,
                                 record.failureCode, record.failureMessage, record.platform, record.serialNumber, record.iccid, record.imei,
                                 record.deviceOSVersion, record.scan, detail, record.mobileSecret, record.deviceOSAfter, record.protection])
            switch change {
            case .none: break
            case .enqueue(let device, let destination, let importSIM):
                _ = try Self.enqueue(db, device, destination: destination, importSIM: importSIM, now: record.finishedAt)
            case .withdraw(let attempt, let update):
                try Self.record(db, attempt, updates: [update])
            }
            if let job { try Self.saveJob(db, job, now: record.finishedAt) }
        }
    }

    /// Attempt records, oldest first, with each device's import state.
    public func records(_ filter: RecordFilter = RecordFilter()) throws(StoreError) -> [ProvisioningRecord] {
        var conditions: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if let since = filter.since {
            conditions.append("a.finished_at >= ?")
            arguments.append(since.timeIntervalSince1970)
        }
        if let until = filter.until {
            conditions.append("a.finished_at < ?")
            arguments.append(until.timeIntervalSince1970)
        }
        if let station = filter.stationID {
            conditions.append("a.station_id = ?")
            arguments.append(station)
        }
        if let name = filter.operatorName {
            conditions.append("a.operator = ?")
            arguments.append(name)
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let path = self.path
        let secrets = filter.includeSecrets
        return try read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.*, i.state AS import_state FROM provisioning_attempt a LEFT JOIN import_item i ON i.device_id = a.device_id
                \(whereClause) ORDER BY a.finished_at, a.id
                """, arguments: StatementArguments(arguments)).map { row in try Self.provisioningRecord(row, secrets: secrets, path: path) }
        }
    }

    /// An attempt row (with its `import_state`) as a record; the mobile secret only when
    /// `secrets` is asked for.
    static func provisioningRecord(_ row: Row, secrets: Bool, path: String) throws -> ProvisioningRecord {
        let text: String = row["detail"]
        guard let detail = try? JSONDecoder().decode(Detail.self, from: Data(text.utf8)) else {
            throw StoreError.database(path: path, detail: "attempt \(row["id"] as Int64) has an unreadable detail column")
        }
        return ProvisioningRecord(
            deviceID: row["device_id"], attempt: row["attempt"], stationID: row["station_id"], line: row["line"], operatorName: row["operator"],
            startedAt: Date(timeIntervalSince1970: row["started_at"]), finishedAt: Date(timeIntervalSince1970: row["finished_at"]),
            passed: row["passed"], failureCode: row["failure_code"], failureMessage: row["failure_message"], platform: row["platform"],
            serialNumber: row["serial"], iccid: row["iccid"], imei: row["imei"], deviceOSVersion: row["device_os"],
            deviceOSAfter: row["device_os_after"], scan: row["scan"],
            steps: detail.steps, modulesBefore: detail.modulesBefore, modulesAfter: detail.modulesAfter, written: detail.written,
            importOutcome: row["import_state"], mobileSecret: secrets ? row["mobile_secret"] : nil, protection: row["protection"])
    }

    // MARK: Event log

    /// Appends to the event log (it cannot be changed or deleted afterwards).
    public func appendEvent(stationID: String, deviceID: String? = nil, kind: String, detail: String? = nil, at: Date = Date()) throws(StoreError) {
        try write { db in
            try db.execute(sql: "INSERT INTO event (at, station_id, device_id, kind, detail) VALUES (?, ?, ?, ?, ?)",
                           arguments: [at.timeIntervalSince1970, stationID, deviceID, kind, detail])
        }
    }

    /// Events in order, optionally from a time on and before another.
    public func events(since: Date? = nil, until: Date? = nil) throws(StoreError) -> [EventRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM event WHERE at >= ? AND at < ? ORDER BY id",
                             arguments: [since?.timeIntervalSince1970 ?? 0, until?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude]).map(EventRecord.init(row:))
        }
    }
}
