import Foundation
import PostgresNIO
import StationConfig
import StationReports
import StationStore

extension LineDatabase {
    /// True when the connection is open and the server answers `SELECT 1` within `deadline`.
    func answers(within deadline: Duration) async -> Bool {
        guard !connection.isClosed else { return false }
        let connection = self.connection, logger = self.logger
        do {
            try await Self.race(deadline, url, "a ping") { () async throws(LineError) in
                do { _ = try await connection.query("SELECT 1", logger: logger) } catch { throw self.failure(error) }
            }
            return true
        } catch {
            return false
        }
    }

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

    /// The line page's numbers over a range, counted by the server by the report's rules
    /// (devices by their last attempt, first passes, protected units apart, failures by code,
    /// 15-minute buckets), for the whole line and each station: one query, whatever the volume.
    func overviewCounts(_ range: DashboardRange) async throws(LineError) -> OverviewCounts {
        let protected = Array(LineReport.protectedCodes).sorted()
        let since = range.since.timeIntervalSince1970, until = range.until.timeIntervalSince1970
        return try await bounded("counting the line page") { () async throws(LineError) in
            let query: PostgresQuery = """
                WITH r AS (
                    SELECT station_id, lower(device_id) AS d, attempt, started_at, finished_at, passed, failure_code, operator, line,
                        (NOT passed AND coalesce(failure_code, '') = ANY(\(protected)::text[])) AS prot
                    FROM line_attempt WHERE finished_at >= to_timestamp(\(since)) AND finished_at < to_timestamp(\(until))
                ), s AS (SELECT '*' AS scope, r.* FROM r UNION ALL SELECT r.station_id AS scope, r.* FROM r
                ), ranked AS (
                    SELECT s.*, row_number() OVER (PARTITION BY scope, d ORDER BY started_at DESC, finished_at DESC, attempt DESC) AS from_last,
                        row_number() OVER (PARTITION BY scope, d ORDER BY started_at, finished_at, attempt) AS from_first FROM s
                )
                SELECT json_build_object(
                    'scopes', (SELECT coalesce(json_agg(x), '[]') FROM (
                        SELECT scope, count(*) AS attempts, count(DISTINCT d) AS devices, count(*) FILTER (WHERE from_last = 1 AND passed) AS passed,
                            count(*) FILTER (WHERE from_last = 1 AND prot) AS protected,
                            count(*) FILTER (WHERE from_first = 1 AND passed AND attempt = 1) AS first_passes,
                            extract(epoch FROM min(started_at))::float8 AS first, extract(epoch FROM max(finished_at))::float8 AS last
                        FROM ranked GROUP BY scope) x),
                    'latest', (SELECT coalesce(json_agg(y), '[]') FROM (
                        SELECT DISTINCT ON (station_id) station_id, line, operator FROM r ORDER BY station_id, finished_at DESC) y),
                    'codes', (SELECT coalesce(json_agg(z), '[]') FROM (
                        SELECT coalesce(failure_code, 'UNKNOWN') AS code, count(*) AS count FROM r WHERE NOT passed AND NOT prot GROUP BY 1) z),
                    'buckets', (SELECT coalesce(json_agg(b), '[]') FROM (
                        SELECT (floor(extract(epoch FROM finished_at) / 900) * 900)::float8 AS start, count(*) FILTER (WHERE passed) AS passed,
                            count(*) FILTER (WHERE NOT passed) AS failed FROM r WHERE NOT prot GROUP BY 1) b)
                )::text
                """
            do {
                var text = "{}"
                for try await value in try await self.connection.query(query, logger: self.logger).decode(String.self) { text = value }
                return try JSONDecoder().decode(OverviewCounts.self, from: Data(text.utf8))
            } catch let error as DecodingError {
                throw LineError(.query, self.url, "the line page's counts are not as expected: \(error)")
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

/// The line page's counts as the server makes them.
struct OverviewCounts: Decodable {
    struct Scope: Decodable {
        let scope: String, attempts: Int, devices: Int, passed: Int, protected: Int, first_passes: Int, first: Double?, last: Double?
        var totals: DashboardOverview.Totals {
            DashboardOverview.Totals(devices: devices, attempts: attempts, passed: passed, protected: `protected`, firstPasses: first_passes,
                                     first: first.map(Date.init(timeIntervalSince1970:)), last: last.map(Date.init(timeIntervalSince1970:)))
        }
    }
    struct Latest: Decodable { let station_id: String, line: String?, `operator`: String? }
    struct Code: Decodable { let code: String, count: Int }
    struct Bucket: Decodable { let start: Double, passed: Int, failed: Int }
    let scopes: [Scope], latest: [Latest], codes: [Code], buckets: [Bucket]

    func overview(_ range: DashboardRange, now: Date, explain: (String) -> FailureExplanation?) -> DashboardOverview {
        let line = scopes.first { $0.scope == "*" }
        let empty = DashboardOverview.Totals(devices: 0, attempts: 0, passed: 0, protected: 0, firstPasses: 0, first: nil, last: nil)
        let stations = scopes.filter { $0.scope != "*" }.sorted { $0.scope < $1.scope }.map { scope in
            let latest = self.latest.first { $0.station_id == scope.scope }
            return StationSummary(id: scope.scope, line: latest?.line, lastActivity: scope.last.map(Date.init(timeIntervalSince1970:)), now: now,
                                  totals: scope.totals, lastOperator: latest?.operator)
        }
        var explanations: [String: FailureExplanation] = [:]
        for code in codes { explanations[code.code] = explain(code.code) }
        var counts: [Double: (passed: Int, failed: Int)] = [:]
        for bucket in buckets { counts[bucket.start] = (bucket.passed, bucket.failed) }
        return DashboardOverview(range: range, generatedAt: now, totals: line?.totals ?? empty, stations: stations,
                                 failures: LineReport.pareto(Dictionary(uniqueKeysWithValues: codes.map { ($0.code, $0.count) }), explanations: explanations),
                                 buckets: LineReport.buckets(counts))
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

/// The dashboard says the line database failed by its code (`LINE-UNREACHABLE`, ...).
extension LineError: DashboardSourceError {}

/// The dashboard over the line database: each request on a read-only session
/// (`default_transaction_read_only = on`) from a small pool, the numbers made by the same
/// `LineReport` that `station report` uses.
public struct LineDashboardSource: DashboardSource {
    public let url: LineDatabaseURL
    let password: String?
    let explain: @Sendable (String) -> FailureExplanation?
    let pool: Sessions

    /// `idle`: how many sessions are kept open between requests.
    public init(url: LineDatabaseURL, password: String?, idle: Int = 8, explain: @escaping @Sendable (String) -> FailureExplanation?) {
        self.url = url
        self.password = password
        self.explain = explain
        pool = Sessions(limit: idle)
    }

    public var name: String { "line database: \(url)" }

    /// Read-only sessions kept open between requests (connecting, turning read-only and
    /// checking the schema cost more than a device page's query).
    actor Sessions {
        let limit: Int
        var idle: [LineDatabase] = []
        init(limit: Int) { self.limit = limit }
        func take() -> LineDatabase? { idle.popLast() }
        /// Keeps `database` for the next request; false when the pool is full (close it).
        func give(_ database: LineDatabase) -> Bool {
            guard idle.count < limit else { return false }
            idle.append(database)
            return true
        }
    }

    /// Runs `body` on a read-only session: a kept one, or a new one (connected, read-only,
    /// schema checked). A kept session the server dropped meanwhile (it restarted) is closed
    /// and the request runs once more on a new one; any other failure closes its session.
    func session<T: Sendable>(_ body: (LineDatabase) async throws(LineError) -> T) async throws(LineError) -> T {
        // A kept session is used once it answers a ping within 2 s: after the server was
        // stopped, a query on a session it dropped can wait for ever instead of failing (the
        // operation's deadline would hold the request 30 s). One that fails is let go (closed
        // in the background) and the request runs on a new session.
        while let kept = await pool.take() {
            guard await kept.answers(within: .seconds(2)) else {
                Task { await kept.close() }
                continue
            }
            do {
                let result = try await body(kept)
                if await !pool.give(kept) { await kept.close() }
                return result
            } catch {
                Task { await kept.close() }
                guard error.kind == .unreachable || error.kind == .query else { throw error }
                break
            }
        }
        let database = try await LineDatabase.connect(url, password: password, operationTimeout: .seconds(30))
        do {
            try await database.readOnly()
            try await database.requireSchema()
            let result = try await body(database)
            if await !pool.give(database) { await database.close() }
            return result
        } catch {
            await database.close()
            throw error
        }
    }

    public func overview(_ range: DashboardRange, now: Date) async throws -> DashboardOverview {
        let counts = try await session { database throws(LineError) in try await database.overviewCounts(range) }
        return counts.overview(range, now: now, explain: explain)
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
                lower(a.device_id) = \(wanted) OR lower(a.serial) = \(wanted) OR lower(a.iccid) = \(wanted) OR a.imei = \(wanted)
                """)
        }
        return DeviceHistory.find(term, in: records)
    }

    public func version() async throws -> String {
        try await session { database throws(LineError) in try await database.shippedVersion() }
    }
}
