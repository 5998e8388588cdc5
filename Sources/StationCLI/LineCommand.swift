import ArgumentParser
import Foundation
import PostgresLine
import StationConfig
import StationStore

/// `station line migrate|sync|status`: the line database (PostgreSQL) the stations of a line
/// replicate their records into.
struct LineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "line", abstract: "The line database (PostgreSQL): create its schema, ship a station's records, see every station.",
        discussion: """
            A URL names the database: postgresql://USER@HOST:PORT/DB (a Unix socket: \
            postgresql://USER@/DB?host=/run/postgresql). Never put the password in it: it comes \
            from --password-file (mode 0600), PGPASSWORD or ~/.pgpass. Off this machine only TLS \
            is used (sslmode=verify-full by default, or require).
            """,
        subcommands: [LineMigrateCommand.self, LineSyncCommand.self, LineStatusCommand.self, LineServeCommand.self])
}

/// The database options every line command shares.
struct LineDatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The line database's URL (no password in it).") var database: String?
    @Option(name: .long, help: "A file holding the database password (mode 0600).", completion: .file()) var passwordFile: String?

    /// The URL given, or the config's `[line]`; refused with its code when unusable.
    func resolve(_ config: LineConfig? = nil) throws(CommandFailure) -> (LineDatabaseURL, String?) {
        let url: LineDatabaseURL
        if let database {
            do { url = try LineDatabaseURL.parse(database, environment: ProcessInfo.processInfo.environment) } catch {
                throw CommandFailure(.usage, error.code, "--database: \(error.description)")
            }
        } else if let config {
            url = config.database
        } else {
            throw CommandFailure(.usage, "USAGE", "name the line database with --database URL (or a config whose [line] has database)")
        }
        return (url, passwordFile ?? (database == nil ? config?.passwordFile : nil))
    }

    /// Connects, runs `body`, closes.
    func with<T: Sendable>(_ config: LineConfig? = nil, _ body: (LineDatabase) async throws(LineError) -> T) async throws(CommandFailure) -> T {
        let (url, file) = try resolve(config)
        do {
            let password = try LinePassword.resolve(url, file: file, environment: ProcessInfo.processInfo.environment)
            return try await LineDatabase.with(url, password: password, body)
        } catch {
            throw CommandFailure.line(error)
        }
    }
}

extension CommandFailure {
    static func line(_ error: LineError) -> CommandFailure {
        switch error.kind {
        case .unreachable: CommandFailure(.unavailable, error.code, error.description)
        case .refused, .password: CommandFailure(.dataError, error.code, error.description)
        case .schema: CommandFailure(.dataError, error.code, error.description)
        case .query: CommandFailure(.failed, error.code, error.description)
        case .store: CommandFailure(.unavailable, error.code, error.description)
        }
    }
}

struct LineMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Create or upgrade the line database's schema (idempotent; safe while stations start).")
    @OptionGroup var options: LineDatabaseOptions

    func run() async throws {
        let (applied, version) = try await options.with { database throws(LineError) in (try await database.migrate(), try await database.schemaVersion()) }
        print(applied.isEmpty ? "the schema is up to date (version \(version))"
                              : "applied migration(s) \(applied.map(String.init).joined(separator: ", ")); the schema is version \(version)")
    }
}

struct LineSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Ship a station's records to the line database now (what it has not shipped yet).",
        discussion: """
            --config names the station (its id, line, store and [line] database); --store ships a \
            store file alone (its station as its records say). Batches of \(LineReplicator.batchSize) \
            changes, each one transaction: run it again after any failure, nothing is lost or counted twice.
            """)
    @Option(name: .long, help: "The station config.", completion: .file()) var config: String?
    @Option(name: .long, help: "The station store (SQLite) to ship.", completion: .file()) var store: String?
    @OptionGroup var options: LineDatabaseOptions

    func validate() throws {
        guard config != nil || store != nil else { throw ValidationError("name the station with --config FILE, or the store with --store PATH") }
    }

    func run() async throws {
        let station = try config.map { path throws(CommandFailure) in try ConfigFiles.stationConfig(path) }
        guard let path = store ?? station?.storeLocation(environment: ProcessInfo.processInfo.environment) else {
            throw CommandFailure(.usage, "USAGE", "name the station with --config FILE, or the store with --store PATH")
        }
        let opened: StationStore
        do { opened = try StationStore(path: path, create: false) } catch { throw CommandFailure.from(error)! }
        let (id, line) = try station.map { ($0.station.id, $0.station.line) } ?? Self.identity(of: opened, path: path)
        let report = try await options.with(station?.line) { database throws(LineError) in
            try await LineReplicator.sync(opened, into: database, station: id, line: line)
        }
        print("\(id): shipped \(report.changes) change(s) in \(report.batches) batch(es); the line holds \(path) up to change \(report.upTo)")
    }

    /// The station a store belongs to, from its records.
    static func identity(of store: StationStore, path: String) throws(CommandFailure) -> (String, String?) {
        let stations: [(id: String, line: String?)]
        do { stations = try store.stations() } catch { throw CommandFailure.from(error)! }
        guard stations.count == 1, let only = stations.first else {
            throw CommandFailure(.dataError, "LINE-STORE-STATION", stations.isEmpty
                ? "\(path) has no records yet: nothing names its station. Use --config FILE"
                : "\(path) holds records of several stations (\(stations.map(\.id).joined(separator: ", "))); use --config FILE to name the one it belongs to")
        }
        return only
    }
}

struct LineStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Every station of the line: devices, passed, failed, first-pass yield, last contact, replication lag.",
        discussion: """
            Counts are devices by their last attempt at each station. --json prints {stations: [{id, \
            line, devices, passed, failed, firstPassYield (0-1), lastContact (ISO 8601), replicationLagSeconds}]}.
            """)
    @OptionGroup var options: LineDatabaseOptions
    @Flag(name: .long, help: "Print JSON.") var json = false

    struct Shape: Encodable { let stations: [LineStationStatus] }

    func run() async throws {
        let (stations, url) = try await options.with { database throws(LineError) in (try await database.status(), database.url) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(Shape(stations: stations)), as: UTF8.self))
            return
        }
        guard !stations.isEmpty else {
            print("no station has shipped to \(url) yet")
            return
        }
        let iso = ISO8601DateFormatter()
        print("station              line             devices  passed  failed  first-pass  last contact          lag")
        for s in stations {
            print(String(format: "%-20@ %-16@ %7d %7d %7d %10.1f%%  %-20@ %5.0fs", s.id as NSString, (s.line ?? "-") as NSString, s.devices, s.passed, s.failed,
                         s.firstPassYield * 100, (s.lastContact.map { iso.string(from: $0) } ?? "never") as NSString, s.replicationLagSeconds))
        }
    }
}
