import Foundation
import PostgresNIO
import StationReports
import StationStore

extension LineDatabase {
    /// The last change of `store` the line holds for `station` (0: none yet).
    public func shipped(station: String, store: String) async throws(LineError) -> Int64 {
        try await bounded("reading the line's cursor") { () throws(LineError) in try await self.shippedNow(station: station, store: store) }
    }

    func shippedNow(station: String, store: String) async throws(LineError) -> Int64 {
        do {
            var seq: Int64 = 0
            let rows = try await connection.query("SELECT shipped_seq FROM line_cursor WHERE station_id = \(station) AND store_id = \(store)", logger: logger)
            for try await value in rows.decode(Int64.self) { seq = value }
            return seq
        } catch {
            throw failure(error)
        }
    }

    /// Ships one batch in one transaction: each row upserted by its key (so a change shipped
    /// twice, after a kill between commit and the station's next read, changes nothing), then
    /// the store's cursor moved to the batch's end and the station's contact and lag noted.
    /// A batch the line already holds (another process shipped it) is skipped. Returns the
    /// cursor after the batch.
    @discardableResult
    public func ship(_ batch: LineBatch, station: String, line: String?, lagSeconds: Double) async throws(LineError) -> Int64 {
        try await bounded("shipping a batch") { () throws(LineError) in try await self.shipNow(batch, station: station, line: line, lagSeconds: lagSeconds) }
    }

    func shipNow(_ batch: LineBatch, station: String, line: String?, lagSeconds: Double) async throws(LineError) -> Int64 {
        let rows = try LineRows(batch, station: station)
        return try await transaction { connection in
            let logger = self.logger
            try await connection.query("""
                INSERT INTO line_station (station_id, line, last_contact, lag_seconds) VALUES (\(station), \(line), now(), \(lagSeconds))
                ON CONFLICT (station_id) DO UPDATE SET line = excluded.line, last_contact = now(), lag_seconds = excluded.lag_seconds
                """, logger: logger)
            try await connection.query("""
                INSERT INTO line_cursor (station_id, store_id, shipped_seq) VALUES (\(station), \(batch.storeID), 0) ON CONFLICT DO NOTHING
                """, logger: logger)
            var shipped: Int64 = 0
            let cursor = try await connection.query("""
                SELECT shipped_seq FROM line_cursor WHERE station_id = \(station) AND store_id = \(batch.storeID) FOR UPDATE
                """, logger: logger)
            for try await value in cursor.decode(Int64.self) { shipped = value }
            guard batch.upTo > shipped else { return shipped }
            if !rows.attempts.isEmpty {
                try await connection.query("""
                    INSERT INTO line_attempt (station_id, device_id, attempt, line, operator, started_at, finished_at, passed, failure_code, failure_message,
                        platform, serial, iccid, imei, device_os, device_os_after, scan, protection, detail, shipped_by)
                    SELECT x.station_id, x.device_id, x.attempt, x.line, x.operator, to_timestamp(x.started_at), to_timestamp(x.finished_at), x.passed,
                        x.failure_code, x.failure_message, x.platform, x.serial, x.iccid, x.imei, x.device_os, x.device_os_after, x.scan, x.protection,
                        x.detail, \(station)
                    FROM jsonb_to_recordset(\(rows.attempts)::jsonb) AS x(station_id text, device_id text, attempt int, line text, operator text,
                        started_at float8, finished_at float8, passed bool, failure_code text, failure_message text, platform text, serial text,
                        iccid text, imei text, device_os text, device_os_after text, scan text, protection text, detail jsonb)
                    ON CONFLICT (station_id, device_id, attempt) DO UPDATE SET finished_at = excluded.finished_at, passed = excluded.passed,
                        failure_code = excluded.failure_code, failure_message = excluded.failure_message, device_os_after = excluded.device_os_after,
                        protection = excluded.protection, detail = excluded.detail, shipped_by = excluded.shipped_by
                    """, logger: logger)
            }
            if !rows.events.isEmpty {
                try await connection.query("""
                    INSERT INTO line_event (store_id, local_id, station_id, at, device_id, kind, detail)
                    SELECT \(batch.storeID), x.local_id, x.station_id, to_timestamp(x.at), x.device_id, x.kind, x.detail
                    FROM jsonb_to_recordset(\(rows.events)::jsonb) AS x(local_id bigint, station_id text, at float8, device_id text, kind text, detail text)
                    ON CONFLICT (store_id, local_id) DO NOTHING
                    """, logger: logger)
            }
            if !rows.devices.isEmpty {
                try await connection.query("""
                    INSERT INTO line_device (station_id, device_id, serial, iccid, imei, platform_id, sku, passed_at)
                    SELECT x.station_id, x.device_id, x.serial, x.iccid, x.imei, x.platform_id, x.sku, to_timestamp(x.passed_at)
                    FROM jsonb_to_recordset(\(rows.devices)::jsonb) AS x(station_id text, device_id text, serial text, iccid text, imei text,
                        platform_id int, sku text, passed_at float8)
                    ON CONFLICT (station_id, device_id) DO UPDATE SET serial = excluded.serial, iccid = excluded.iccid, imei = excluded.imei,
                        platform_id = excluded.platform_id, sku = excluded.sku, passed_at = excluded.passed_at
                    """, logger: logger)
            }
            if !rows.imports.isEmpty {
                try await connection.query("""
                    INSERT INTO line_import (station_id, device_id, destination, state, reason, attempts, updated_at)
                    SELECT \(station), x.device_id, x.destination, x.state, x.reason, x.attempts, to_timestamp(x.updated_at)
                    FROM jsonb_to_recordset(\(rows.imports)::jsonb) AS x(device_id text, destination text, state text, reason text, attempts int,
                        updated_at float8)
                    ON CONFLICT (station_id, device_id) DO UPDATE SET destination = excluded.destination, state = excluded.state,
                        reason = excluded.reason, attempts = excluded.attempts, updated_at = excluded.updated_at
                    """, logger: logger)
            }
            try await connection.query("""
                UPDATE line_cursor SET shipped_seq = \(batch.upTo) WHERE station_id = \(station) AND store_id = \(batch.storeID)
                """, logger: logger)
            return batch.upTo
        }
    }

    /// Per station: devices, passed and failed by each device's last attempt there (a
    /// protected unit, refused for rework, is neither), first-pass yield, last contact, lag.
    public func status() async throws(LineError) -> [LineStationStatus] {
        try await bounded("the status query") { () throws(LineError) in try await self.statusNow() }
    }

    func statusNow() async throws(LineError) -> [LineStationStatus] {
        try await requireSchema()
        let protected = Array(LineReport.protectedCodes)
        do {
            let rows = try await connection.query("""
                WITH last AS (
                    SELECT DISTINCT ON (station_id, device_id) station_id, device_id, passed, failure_code
                    FROM line_attempt ORDER BY station_id, device_id, attempt DESC
                ), first AS (
                    SELECT station_id, count(*) FILTER (WHERE passed) AS passes FROM line_attempt WHERE attempt = 1 GROUP BY station_id
                )
                SELECT s.station_id, s.line, s.last_contact, s.lag_seconds,
                    count(l.device_id)::bigint,
                    (count(l.device_id) FILTER (WHERE l.passed))::bigint,
                    (count(l.device_id) FILTER (WHERE NOT l.passed AND NOT (COALESCE(l.failure_code, '') = ANY(\(protected)))))::bigint,
                    (count(l.device_id) FILTER (WHERE NOT l.passed AND COALESCE(l.failure_code, '') = ANY(\(protected))))::bigint,
                    COALESCE(max(f.passes), 0)::bigint
                FROM line_station s LEFT JOIN last l ON l.station_id = s.station_id LEFT JOIN first f ON f.station_id = s.station_id
                GROUP BY s.station_id, s.line, s.last_contact, s.lag_seconds ORDER BY s.station_id
                """, logger: logger)
            var result: [LineStationStatus] = []
            for try await (id, line, contact, lag, devices, passed, failed, _, firstPasses) in rows.decode((String, String?, Date?, Double, Int64, Int64, Int64, Int64, Int64).self) {
                result.append(LineStationStatus(id: id, line: line, devices: Int(devices), passed: Int(passed), failed: Int(failed),
                                                firstPassYield: devices == 0 ? 0 : Double(firstPasses) / Double(devices), lastContact: contact,
                                                replicationLagSeconds: lag))
            }
            return result
        } catch {
            throw failure(error)
        }
    }
}

/// A batch's rows as the JSON arrays the upserts read (`jsonb_to_recordset`): one statement
/// per table per batch, however many rows. The mobile secret is not among them.
struct LineRows {
    var attempts = "", events = "", devices = "", imports = ""

    struct Attempt: Encodable {
        let station_id: String, device_id: String, attempt: Int, line: String?, `operator`: String?, started_at: Double, finished_at: Double
        let passed: Bool, failure_code: String?, failure_message: String?, platform: String?, serial: String?, iccid: String?, imei: String?
        let device_os: String?, device_os_after: String?, scan: String?, protection: String?, detail: Detail
    }
    struct Detail: Encodable {
        let steps: [ProvisioningRecord.StepTime]
        let modulesBefore: [ProvisioningRecord.ModuleVersion]
        let modulesAfter: [ProvisioningRecord.ModuleVersion]
        let written: [ProvisioningRecord.WrittenModule]
    }
    struct Event: Encodable { let local_id: Int64, station_id: String, at: Double, device_id: String?, kind: String, detail: String? }
    struct Device: Encodable {
        let station_id: String, device_id: String, serial: String?, iccid: String?, imei: String?, platform_id: Int?, sku: String?, passed_at: Double
    }
    struct Import: Encodable { let device_id: String, destination: String, state: String, reason: String?, attempts: Int, updated_at: Double }

    init(_ batch: LineBatch, station: String) throws(LineError) {
        func json<T: Encodable>(_ values: [T]) throws(LineError) -> String {
            guard !values.isEmpty else { return "" }
            do { return String(decoding: try JSONEncoder().encode(values), as: UTF8.self) } catch {
                throw LineError(kind: .store, database: "", detail: "cannot encode a batch: \(error)")
            }
        }
        attempts = try json(batch.attempts.map { r in
            Attempt(station_id: r.stationID, device_id: r.deviceID, attempt: r.attempt, line: r.line, operator: r.operatorName,
                    started_at: r.startedAt.timeIntervalSince1970, finished_at: r.finishedAt.timeIntervalSince1970, passed: r.passed,
                    failure_code: r.failureCode, failure_message: r.failureMessage, platform: r.platform, serial: r.serialNumber, iccid: r.iccid,
                    imei: r.imei, device_os: r.deviceOSVersion, device_os_after: r.deviceOSAfter, scan: r.scan, protection: r.protection,
                    detail: Detail(steps: r.steps, modulesBefore: r.modulesBefore, modulesAfter: r.modulesAfter, written: r.written))
        })
        events = try json(batch.events.map {
            Event(local_id: $0.id, station_id: $0.stationID, at: $0.at.timeIntervalSince1970, device_id: $0.deviceID, kind: $0.kind, detail: $0.detail)
        })
        devices = try json(batch.devices.map {
            Device(station_id: $0.stationID, device_id: $0.deviceID, serial: $0.serial, iccid: $0.iccid, imei: $0.imei, platform_id: $0.platformID,
                   sku: $0.sku, passed_at: $0.passedAt.timeIntervalSince1970)
        })
        imports = try json(batch.imports.map {
            Import(device_id: $0.deviceID, destination: $0.destination, state: $0.state, reason: $0.reason, attempts: $0.attempts,
                   updated_at: $0.updatedAt.timeIntervalSince1970)
        })
    }
}
