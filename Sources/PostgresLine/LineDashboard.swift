import Foundation
import PostgresNIO
import StationConfig
import StationReports
import StationStore

extension LineDatabase {
    /// Makes this session read-only (`default_transaction_read_only = on`): every write on it
    /// fails on the server, as a viewer's must.
    public func readOnly() async throws(LineError) {
        try await bounded("making the session read-only") { () async throws(LineError) in
            do { _ = try await self.connection.query(PostgresQuery(unsafeSQL: "SET default_transaction_read_only = on"), logger: self.logger) } catch { throw self.failure(error) }
        }
    }

    /// Attempts as the store keeps them (the report reads these), by a condition on
    /// `line_attempt a`, with the device's import state; never a mobile secret (the line has
    /// none).
    func attempts(where condition: PostgresQuery) async throws(LineError) -> [ProvisioningRecord] {
        try await bounded("reading attempts") { () async throws(LineError) in
            var sql = PostgresQuery(unsafeSQL: """
                SELECT row_to_json(x)::text FROM (
                    SELECT a.station_id, a.device_id, a.attempt, a.line, a.operator, extract(epoch FROM a.started_at)::float8 AS started_at,
                        extract(epoch FROM a.finished_at)::float8 AS finished_at, a.passed, a.failure_code, a.failure_message, a.platform, a.serial,
                        a.iccid, a.imei, a.device_os, a.device_os_after, a.scan, a.protection, a.detail, i.state AS import_state
                    FROM line_attempt a LEFT JOIN line_import i ON i.station_id = a.station_id AND i.device_id = a.device_id
                    WHERE
                """)
            sql.sql += " " + condition.sql + ") x"
            sql.binds = condition.binds
            do {
                var result: [ProvisioningRecord] = []
                let decoder = JSONDecoder()
                for try await text in try await self.connection.query(sql, logger: self.logger).decode(String.self) {
                    let row = try decoder.decode(AttemptRow.self, from: Data(text.utf8))
                    result.append(row.record)
                }
                return result
            } catch let error as DecodingError {
                throw LineError(.query, self.url, "an attempt in the line database is not as this station writes it: \(error)")
            } catch {
                throw self.failure(error)
            }
        }
    }

    /// Each store's shipped position: any shipped batch changes it.
    func shippedVersion() async throws(LineError) -> String {
        try await bounded("reading the line's position") { () async throws(LineError) in
            do {
                var version = ""
                for try await value in try await self.connection.query(PostgresQuery(unsafeSQL: "SELECT coalesce(sum(shipped_seq), 0)::text || '.' || count(*)::text FROM line_cursor"), logger: self.logger).decode(String.self) {
                    version = value
                }
                return version
            } catch {
                throw self.failure(error)
            }
        }
    }
}

/// An attempt row as `row_to_json` gives it.
struct AttemptRow: Decodable {
    struct Detail: Decodable {
        let steps: [ProvisioningRecord.StepTime]
        let modulesBefore: [ProvisioningRecord.ModuleVersion]
        let modulesAfter: [ProvisioningRecord.ModuleVersion]
        let written: [ProvisioningRecord.WrittenModule]
    }

    let station_id: String, device_id: String, attempt: Int, line: String?, `operator`: String?, started_at: Double, finished_at: Double
    let passed: Bool, failure_code: String?, failure_message: String?, platform: String?, serial: String?, iccid: String?, imei: String?
    let device_os: String?, device_os_after: String?, scan: String?, protection: String?, detail: Detail, import_state: String?

    var record: ProvisioningRecord {
        ProvisioningRecord(deviceID: device_id, attempt: attempt, stationID: station_id, line: line, operatorName: `operator`,
                           startedAt: Date(timeIntervalSince1970: started_at), finishedAt: Date(timeIntervalSince1970: finished_at), passed: passed,
                           failureCode: failure_code, failureMessage: failure_message, platform: platform, serialNumber: serial, iccid: iccid, imei: imei,
                           deviceOSVersion: device_os, deviceOSAfter: device_os_after, scan: scan, steps: detail.steps, modulesBefore: detail.modulesBefore,
                           modulesAfter: detail.modulesAfter, written: detail.written, importOutcome: import_state, protection: protection)
    }
}

/// The dashboard over the line database: each request on a read-only session of its own
/// (`default_transaction_read_only = on`), the numbers made by the same `LineReport` that
/// `station report` uses.
public struct LineDashboardSource: DashboardSource {
    public let url: LineDatabaseURL
    let password: String?
    let explain: @Sendable (String) -> FailureExplanation?

    public init(url: LineDatabaseURL, password: String?, explain: @escaping @Sendable (String) -> FailureExplanation?) {
        self.url = url
        self.password = password
        self.explain = explain
    }

    public var name: String { "line database: \(url)" }

    /// Connects read-only, checks the schema, runs `body`, closes.
    func session<T: Sendable>(_ body: (LineDatabase) async throws(LineError) -> T) async throws(LineError) -> T {
        try await LineDatabase.with(url, password: password, operationTimeout: .seconds(30)) { database throws(LineError) in
            try await database.readOnly()
            try await database.requireSchema()
            return try await body(database)
        }
    }

    public func overview(_ range: DashboardRange, now: Date) async throws -> DashboardOverview {
        let records = try await session { database throws(LineError) in
            try await database.attempts(where: "a.finished_at >= to_timestamp(\(range.since.timeIntervalSince1970)) AND a.finished_at < to_timestamp(\(range.until.timeIntervalSince1970))")
        }
        return DashboardOverview(records: records, range: range, now: now, explain: explain)
    }

    public func station(_ id: String, range: DashboardRange) async throws -> StationView? {
        let records = try await session { database throws(LineError) in
            try await database.attempts(where: """
                a.station_id = \(id) AND a.finished_at >= to_timestamp(\(range.since.timeIntervalSince1970)) AND a.finished_at < to_timestamp(\(range.until.timeIntervalSince1970))
                """)
        }
        return StationView(id: id, records: records, range: range, explain: explain)
    }

    public func failures(_ range: DashboardRange, station: String?) async throws -> FailuresView {
        let records = try await session { database throws(LineError) in
            try await database.attempts(where: "a.finished_at >= to_timestamp(\(range.since.timeIntervalSince1970)) AND a.finished_at < to_timestamp(\(range.until.timeIntervalSince1970))")
        }
        return FailuresView(records: records, range: range, station: station, explain: explain)
    }

    public func device(_ id: String) async throws -> DeviceHistory? {
        let records = try await session { database throws(LineError) in try await database.attempts(where: "lower(a.device_id) = lower(\(id))") }
        return DeviceHistory(deviceID: id, records: records, explain: explain)
    }

    public func find(_ term: String) async throws -> String? {
        let wanted = DeviceHistory.normalized(term)
        guard !wanted.isEmpty else { return nil }
        let records = try await session { database throws(LineError) in
            try await database.attempts(where: """
                \(wanted) IN (lower(a.device_id), lower(replace(a.serial, '-', '')), a.iccid, a.imei)
                """)
        }
        return DeviceHistory.find(term, in: records)
    }

    public func version() async throws -> String {
        try await session { database throws(LineError) in try await database.shippedVersion() }
    }
}
