import ArgumentParser
import Curl
import Dashboard
import Foundation
import PostgresLine
import Seams
import StationConfig
import ThrowawayPostgres

/// `station benchmark dashboard`: the dashboard over a line database of real volume. A
/// throwaway PostgreSQL server (fsync on) is filled by a generator with `--attempts` attempts
/// of 8 stations over 90 days (one in ten failed, every passed one imported), then the
/// dashboard serves it on loopback and a client (libcurl) times `/`, `/devices/ID` and the
/// search, with one client and with 8 at once. Each figure is printed against its goal.
struct DashboardBenchmarkCommand: AsyncParsableCommand, JSONOutputCommand {
    var printsJSON: Bool { json }
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "p50/p95 of the dashboard's line page, device page and search over a line database of 1,000,000 attempts.",
        discussion: "Needs Debian's postgresql package (initdb); the server is a throwaway one, removed at the end.")

    @Option(name: .long, help: "Attempts the generator writes.") var attempts = 1_000_000
    @Option(name: .long, help: "Requests per page and client count (split among the clients).") var requests = 200
    @Flag(name: .long, help: "Print JSON only.") var json = false

    func validate() throws {
        guard attempts >= 100, requests >= 8 else { throw ValidationError("--attempts must be at least 100 and --requests at least 8") }
    }

    struct Figure: Codable {
        var page: String
        var clients: Int
        var requests: Int
        var p50Milliseconds: Double
        var p95Milliseconds: Double
        /// The issue's goal for one client's p95 (nil: none set for this count).
        var goalMilliseconds: Double?
    }

    struct Result: Codable {
        var attempts: Int
        var attemptsInTheDefaultRange: Int
        var generateSeconds: Double
        var postgres: String
        var figures: [Figure]
    }

    func run() async throws {
        let result: Result
        do {
            result = try await Self.measure(attempts: attempts, requests: requests)
        } catch let error as ThrowawayPostgres.Unavailable {
            throw CommandFailure(.unavailable, "BENCHMARK-NO-POSTGRES", error.description)
        }
        if !json {
            print("dashboard: \(result.attempts) attempts of 8 stations over 90 days (\(result.attemptsInTheDefaultRange) in the last 12 hours), generated in \(String(format: "%.1f", result.generateSeconds)) s; PostgreSQL \(result.postgres) on this machine")
            for figure in result.figures {
                let goal = figure.goalMilliseconds.map { String(format: "; goal p95 %.0f ms: %.2f of it", $0, figure.p95Milliseconds / $0) } ?? ""
                print("\(figure.page), \(figure.clients) client\(figure.clients == 1 ? "" : "s"): p50 \(String(format: "%.1f", figure.p50Milliseconds)) ms, p95 \(String(format: "%.1f", figure.p95Milliseconds)) ms over \(figure.requests) requests\(goal)")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
    }

    /// The generator: `count` attempts in one statement, as stations ship them.
    static func generate(_ server: ThrowawayPostgres, count: Int) async throws {
        let span = 90.0 * 86400
        _ = try await server.psql("""
            INSERT INTO line_station (station_id, line, last_contact, lag_seconds)
                SELECT 'bench-' || lpad(s::text, 2, '0'), 'line-1', now(), 0 FROM generate_series(1, 8) s;
            INSERT INTO line_cursor (station_id, store_id, shipped_seq)
                SELECT 'bench-' || lpad(s::text, 2, '0'), md5(s::text), \(count / 8) FROM generate_series(1, 8) s;
            INSERT INTO line_attempt (station_id, device_id, attempt, line, operator, started_at, finished_at, passed, failure_code, failure_message,
                    platform, serial, iccid, imei, device_os, device_os_after, scan, protection, detail, shipped_by)
                SELECT 'bench-' || lpad((1 + i % 8)::text, 2, '0'), 'e00f' || lpad(to_hex(i), 20, '0'), 1, 'line-1', 'operator-' || (i % 12),
                    now() - make_interval(secs => (i::float8 / \(count)) * \(span) + 40), now() - make_interval(secs => (i::float8 / \(count)) * \(span)),
                    i % 10 <> 0,
                    CASE WHEN i % 10 = 0 THEN (ARRAY['DFU-WRITE-STALL', 'PAIR-MISMATCH', 'IDENTIFY-DFU', 'CTRL-TIMEOUT'])[1 + (i / 10) % 4] END,
                    CASE WHEN i % 10 = 0 THEN 'a failure of the benchmark' END,
                    'boron', 'P0' || upper(lpad(to_hex(i), 13, '0')), '8901' || lpad(i::text, 16, '0'), '35' || lpad(i::text, 13, '0'), '5.9.0',
                    CASE WHEN i % 10 <> 0 THEN '6.2.0' END, NULL, 'open',
                    jsonb_build_object(
                        'steps', jsonb_build_array(jsonb_build_object('step', 'identifying', 'at', 0), jsonb_build_object('step', 'waitingForScan', 'at', 3),
                            jsonb_build_object('step', 'flashing', 'at', 8), jsonb_build_object('step', CASE WHEN i % 10 <> 0 THEN 'passed' ELSE 'failed' END, 'at', 40)),
                        'modulesBefore', jsonb_build_array(jsonb_build_object('function', 'bootloader', 'index', 0, 'version', 3100, 'valid', true),
                            jsonb_build_object('function', 'systemPart', 'index', 1, 'version', 5901, 'valid', true)),
                        'modulesAfter', CASE WHEN i % 10 <> 0 THEN jsonb_build_array(jsonb_build_object('function', 'systemPart', 'index', 1, 'version', 6200, 'valid', true)) ELSE '[]'::jsonb END,
                        'written', CASE WHEN i % 10 <> 0 THEN jsonb_build_array(jsonb_build_object('file', 'boron-system-part1@6.2.0.bin', 'sha256', md5(i::text) || md5(i::text),
                            'bytes', 650000, 'action', 'written', 'verified', true)) ELSE '[]'::jsonb END),
                    'bench-' || lpad((1 + i % 8)::text, 2, '0')
                FROM generate_series(1, \(count)) i;
            INSERT INTO line_import (station_id, device_id, destination, state, reason, attempts, updated_at)
                SELECT station_id, device_id, 'product', 'imported', NULL, 1, finished_at FROM line_attempt WHERE passed;
            ANALYZE;
            """)
    }

    static func measure(attempts count: Int, requests: Int) async throws -> Result {
        let server = try await ThrowawayPostgres.start(durable: true)
        do {
            let result = try await measure(on: server, attempts: count, requests: requests)
            await server.destroy()
            return result
        } catch {
            await server.destroy()
            throw error
        }
    }

    static func measure(on server: ThrowawayPostgres, attempts count: Int, requests: Int) async throws -> Result {
        let url = try LineDatabaseURL.parse(server.url)
        _ = try await LineDatabase.with(url, password: nil) { database throws(LineError) in try await database.migrate() }
        let started = Date()
        try await generate(server, count: count)
        let generateSeconds = Date().timeIntervalSince(started)
        let inRange = Int(try await server.psql("SELECT count(*) FROM line_attempt WHERE finished_at >= now() - interval '12 hours'")) ?? 0

        let dashboard = try DashboardServer(source: LineDashboardSource(url: url, password: nil, explain: ReportCommand.explain),
                                            listen: DashboardListen(host: "127.0.0.1", port: 0), token: nil)
        let (addresses, found) = AsyncStream<String>.makeStream()
        let serving = Task { try await dashboard.run { found.yield($0) } }
        var address = ""
        for await said in addresses { address = said; break }
        defer { serving.cancel() }

        let transport = CurlHTTPTransport(), base = address
        let time: @Sendable (_ path: String, _ status: Int) async throws -> Double = { path, status in
            let begin = ContinuousClock.now
            let response = try await transport.send(HTTPRequest(method: .get, url: base + path, timeout: .seconds(60)))
            let elapsed = ContinuousClock.now - begin
            guard response.status == status else { throw ValidationError("\(path) answered \(response.status), not \(status)") }
            return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        }
        let pages: [(name: String, path: @Sendable () -> String, status: Int, goal: Double)] = [
            ("/", { "" }, 200, 150),
            ("/devices/ID", { "devices/e00f" + String(format: "%020x", Int.random(in: 1...count)) }, 200, 50),
            ("search", { "search?q=P0" + String(format: "%013X", Int.random(in: 1...count)) }, 303, 50),
        ]
        var figures: [Figure] = []
        for page in pages {
            for _ in 0..<3 { _ = try await time(page.path(), page.status) }
            for clients in [1, 8] {
                let each = max(1, requests / clients)
                let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
                    for _ in 0..<clients {
                        group.addTask {
                            var own: [Double] = []
                            for _ in 0..<each { own.append(try await time(page.path(), page.status)) }
                            return own
                        }
                    }
                    return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
                }
                func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)] }
                figures.append(Figure(page: page.name, clients: clients, requests: latencies.count, p50Milliseconds: percentile(0.5), p95Milliseconds: percentile(0.95),
                                      goalMilliseconds: clients == 1 ? page.goal : nil))
            }
        }
        return Result(attempts: count, attemptsInTheDefaultRange: inRange, generateSeconds: generateSeconds, postgres: server.version, figures: figures)
    }
}
