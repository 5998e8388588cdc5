import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import StationConfig
import StationStore

/// Why the line database could not be used, with the stable code of the failure table.
public struct LineError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The server could not be reached (down, wrong address, refused, timed out).
        case unreachable = "LINE-UNREACHABLE"
        /// It answered, and refused who we are (password, user, TLS).
        case refused = "LINE-AUTH"
        /// The password file is missing, unreadable, or readable by others.
        case password = "LINE-PASSWORD-FILE"
        /// Its schema is newer than this station knows, or missing (`station line migrate`).
        case schema = "LINE-SCHEMA"
        /// A query failed.
        case query = "LINE-QUERY"
        /// The local store could not be read.
        case store = "LINE-STORE"
    }
    public let kind: Kind
    public let database: String
    public let detail: String
    public var code: String { kind.rawValue }
    /// What happened and what to do, without the code.
    public var message: String { "\(database): \(detail)" }
    public var description: String { "[\(code)] \(message)" }

    init(_ kind: Kind, _ database: LineDatabaseURL, _ detail: String) {
        self.kind = kind
        self.database = database.description
        self.detail = detail
    }

    init(kind: Kind, database: String, detail: String) {
        self.kind = kind
        self.database = database
        self.detail = detail
    }
}

/// Where the password comes from: `[line] password_file` (only its owner may read it), else
/// `PGPASSWORD`, else `~/.pgpass` (libpq's format, host:port:database:user:password, `*`
/// matching anything); nil: none (trust, peer or certificate authentication).
public enum LinePassword {
    public static func resolve(_ url: LineDatabaseURL, file: String?, environment: [String: String]) throws(LineError) -> String? {
        if let file {
            let path = (file as NSString).expandingTildeInPath
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value else {
                throw LineError(.password, url, "the password file \(path) cannot be read; create it with the password on one line, mode 0600")
            }
            guard mode & 0o077 == 0 else {
                throw LineError(.password, url, "the password file \(path) is readable by others (mode \(String(mode & 0o777, radix: 8))); chmod 600 \(path)")
            }
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw LineError(.password, url, "the password file \(path) cannot be read")
            }
            return text.trimmingCharacters(in: .newlines)
        }
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        let passfile = environment["PGPASSFILE"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.pgpass")
        guard let data = FileManager.default.contents(atPath: passfile), let text = String(data: data, encoding: .utf8) else { return nil }
        let (host, port) = switch url.endpoint {
        case .tcp(let host, let port): (host, port)
        case .socket(_, let port): ("localhost", port)
        }
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = pgpassFields(String(line))
            guard fields.count == 5 else { continue }
            let want = [host, String(port), url.database, url.user]
            if zip(fields.prefix(4), want).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// A .pgpass line's fields: `:` separates, `\` escapes.
    static func pgpassFields(_ line: String) -> [String] {
        var fields: [String] = [], current = "", escaped = false
        for character in line {
            if escaped { current.append(character); escaped = false } else if character == "\\" { escaped = true } else if character == ":" {
                fields.append(current); current = ""
            } else { current.append(character) }
        }
        fields.append(current)
        return fields
    }
}

/// One station's figures in the line database (`station line status`).
public struct LineStationStatus: Hashable, Sendable, Encodable {
    public let id: String
    public let line: String?
    public let devices: Int
    /// Devices by their last attempt at this station.
    public let passed: Int
    public let failed: Int
    /// Devices whose first attempt here passed, over its devices (0-1).
    public let firstPassYield: Double
    public let lastContact: Date?
    /// How far behind its replication was at last contact: the age of the oldest change it
    /// had not shipped yet then (0: caught up).
    public let replicationLagSeconds: Double
}

/// A connection to the line database (PostgreSQL, through postgres-nio): the schema's
/// migrations, shipping a batch of a store's changes, and the line's status.
public final class LineDatabase: Sendable {
    public let url: LineDatabaseURL
    let connection: PostgresConnection
    let logger: Logger
    /// How long one operation (a batch, a migration run, a status query) may take before the
    /// connection is given up as dead: a server that vanishes without closing its sockets
    /// would otherwise leave the station waiting for ever.
    let operationTimeout: Duration

    /// Connects, over TLS where the URL says (always off this machine).
    public static func connect(_ url: LineDatabaseURL, password: String?, timeout: Duration = .seconds(5),
                               operationTimeout: Duration = .seconds(60)) async throws(LineError) -> LineDatabase {
        var configuration: PostgresConnection.Configuration
        switch url.endpoint {
        case .socket(let folder, let port):
            configuration = .init(unixSocketPath: folder + "/.s.PGSQL.\(port)", username: url.user, password: password, database: url.database)
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS
            do {
                switch url.tls {
                case .disable:
                    tls = .disable
                case .require:
                    var settings = TLSConfiguration.makeClientConfiguration()
                    settings.certificateVerification = .none
                    tls = .require(try NIOSSLContext(configuration: settings))
                case .verifyFull:
                    var settings = TLSConfiguration.makeClientConfiguration()
                    if let root = url.rootCertificate { settings.trustRoots = .file(root) }
                    tls = .require(try NIOSSLContext(configuration: settings))
                }
            } catch {
                throw LineError(.refused, url, "TLS could not be set up: \(error)")
            }
            configuration = .init(host: host, port: port, username: url.user, password: password, database: url.database, tls: tls)
        }
        configuration.options.connectTimeout = .nanoseconds(timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        var logger = Logger(label: "station.line")
        logger.logLevel = .critical
        // The whole handshake (TCP, TLS, authentication) against the operation's deadline: a
        // server that accepts and then says nothing (starting up, being killed) must not hold
        // the station for ever; `connectTimeout` bounds the TCP connect alone.
        let settings = configuration, log = logger
        let connection = try await race(operationTimeout, url, "connecting", late: { connection in try? await connection.close() }) { () async throws(LineError) in
            do {
                return try await PostgresConnection.connect(configuration: settings, id: 1, logger: log)
            } catch let error as PSQLError {
                throw Self.error(error, url)
            } catch {
                throw LineError(.unreachable, url, "\(error). Check that the server runs and the address; the station keeps its records and ships them later")
            }
        }
        return LineDatabase(url: url, connection: connection, logger: logger, operationTimeout: operationTimeout)
    }

    init(url: LineDatabaseURL, connection: PostgresConnection, logger: Logger, operationTimeout: Duration) {
        self.operationTimeout = operationTimeout
        self.url = url
        self.connection = connection
        self.logger = logger
    }

    /// Closes the connection (every connection must be closed before it is let go).
    public func close() async {
        // Closing sends a goodbye and waits for the server's end: a server that vanished may
        // never give it. Past 5 s the connection is left to the event loop.
        let connection = self.connection
        _ = try? await Self.race(.seconds(5), url, "closing") { () async throws(LineError) in try? await connection.close() }
    }

    /// Connects, runs `body`, and closes the connection whatever `body` did.
    public static func with<T: Sendable>(_ url: LineDatabaseURL, password: String?, timeout: Duration = .seconds(5), operationTimeout: Duration = .seconds(60),
                                         _ body: (LineDatabase) async throws(LineError) -> T) async throws(LineError) -> T {
        let database = try await connect(url, password: password, timeout: timeout, operationTimeout: operationTimeout)
        do {
            let result = try await body(database)
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    }

    static func error(_ error: PSQLError, _ url: LineDatabaseURL) -> LineError {
        let message = error.serverInfo?[.message] ?? ""
        let sqlState = error.serverInfo?[.sqlState] ?? ""
        switch error.code {
        case .serverClosedConnection, .connectionError, .uncleanShutdown:
            return LineError(.unreachable, url, "the connection failed (\(error.underlying.map { "\($0)" } ?? "\(error.code)")). The station keeps its records and ships them later")
        case .server where sqlState.hasPrefix("28"):
            return LineError(.refused, url, "the server refused the login: \(message). Check the user and the password (password_file, PGPASSWORD or ~/.pgpass)")
        case .server where sqlState == "3D000":
            return LineError(.schema, url, "\(message): create the database on the server, then `station line migrate`")
        case .server:
            return LineError(.query, url, "\(message) (SQLSTATE \(sqlState))")
        default:
            if error.code == .sslUnsupported {
                return LineError(.refused, url, "the server does not offer TLS, and it is not on this machine: turn on ssl on the server")
            }
            return LineError(.unreachable, url, "\(String(reflecting: error.code))\(error.underlying.map { ": \($0)" } ?? ""). The station keeps its records and ships them later")
        }
    }

    /// Runs `body`; past `operationTimeout` the connection is closed (which fails what is in
    /// flight) and the operation fails with LINE-UNREACHABLE.
    func bounded<T: Sendable>(_ what: String, _ body: @Sendable @escaping () async throws(LineError) -> T) async throws(LineError) -> T {
        let connection = self.connection
        return try await Self.race(operationTimeout, url, what, onTimeout: { try? await connection.close() }, body)
    }

    /// Runs `body` against a deadline: past `timeout` it fails with LINE-UNREACHABLE, the work
    /// is cancelled and `onTimeout` runs; a result that comes after that goes to `late` (a
    /// connection that opened too late is closed there).
    static func race<T: Sendable>(_ timeout: Duration, _ url: LineDatabaseURL, _ what: String, onTimeout: @Sendable @escaping () async -> Void = {},
                                  late: @Sendable @escaping (T) async -> Void = { _ in }, _ body: @Sendable @escaping () async throws(LineError) -> T) async throws(LineError) -> T {
        // Not a task group: a group waits for every child, and a query on a connection whose
        // server vanished may never return, even once the connection is closed. The loser
        // of the race is abandoned.
        let once = Once<Result<T, LineError>>()
        let outcome: Result<T, LineError> = await withCheckedContinuation { continuation in
            once.set(continuation)
            let work = Task {
                do throws(LineError) {
                    let value = try await body()
                    if !once.resume(.success(value)) { await late(value) }
                } catch {
                    once.resume(.failure(error))
                }
            }
            Task {
                try? await Task.sleep(for: timeout)
                guard once.resume(.failure(LineError(.unreachable, url, "\(what) got no answer within \(timeout); the connection was given up. The station keeps its records and ships them later"))) else { return }
                work.cancel()
                await onTimeout()
            }
        }
        return try outcome.get()
    }

    /// Any error of a query as the line's error: the server's, mapped; anything else a query failure.
    func failure(_ error: any Error) -> LineError {
        if let line = error as? LineError { return line }
        return (error as? PSQLError).map { Self.error($0, url) } ?? LineError(.query, url, "\(error)")
    }

    /// Runs `body` in one transaction, committed when it returns.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws(LineError) -> T {
        do {
            return try await connection.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as LineError {
            throw error
        } catch let error as PostgresTransactionError {
            let inner = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
            if let line = inner as? LineError { throw line }
            throw (inner as? PSQLError).map { Self.error($0, url) } ?? LineError(.query, url, "\(inner.map { "\($0)" } ?? "\(error)")")
        } catch {
            throw failure(error)
        }
    }

    // MARK: Schema

    /// Creates or upgrades the schema; idempotent, and safe when several stations run it at
    /// once (one transaction under an advisory lock). Returns the versions it applied.
    @discardableResult
    public func migrate() async throws(LineError) -> [Int] {
        try await bounded("the migration") { () throws(LineError) in try await self.migrateNow() }
    }

    func migrateNow() async throws(LineError) -> [Int] {
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(LineSchema.lockKey))", logger: self.logger)
            try await connection.query(PostgresQuery(unsafeSQL: """
                CREATE TABLE IF NOT EXISTS line_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """), logger: self.logger)
            var have = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM line_schema", logger: self.logger).decode(Int.self) { have.insert(version) }
            if let newest = have.max(), newest > LineSchema.latest {
                throw LineError(.schema, self.url, "the line database's schema is version \(newest), newer than this station knows (\(LineSchema.latest)); update the station")
            }
            var applied: [Int] = []
            for migration in LineSchema.migrations where !have.contains(migration.version) {
                for statement in migration.statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger) }
                try await connection.query("INSERT INTO line_schema (version, name) VALUES (\(migration.version), \(migration.name))", logger: self.logger)
                applied.append(migration.version)
            }
            return applied
        }
    }

    /// The schema version the database has (0: none).
    public func schemaVersion() async throws(LineError) -> Int {
        try await bounded("reading the schema version") { () async throws(LineError) in try await self.schemaVersionNow() }
    }

    func schemaVersionNow() async throws(LineError) -> Int {
        do {
            let rows = try await connection.query("SELECT to_regclass('line_schema') IS NOT NULL", logger: logger)
            var exists = false
            for try await value in rows.decode(Bool.self) { exists = value }
            guard exists else { return 0 }
            var version = 0
            for try await value in try await connection.query("SELECT COALESCE(MAX(version), 0) FROM line_schema", logger: logger).decode(Int.self) { version = value }
            return version
        } catch {
            throw failure(error)
        }
    }

    /// Refuses a database without the schema this station writes.
    func requireSchema() async throws(LineError) {
        let version = try await schemaVersion()
        guard version >= LineSchema.latest else {
            throw LineError(.schema, url, version == 0 ? "the database has no line schema yet: run `station line migrate --database URL` once"
                                                      : "its schema is version \(version); run `station line migrate --database URL` to bring it to \(LineSchema.latest)")
        }
        guard version == LineSchema.latest else {
            throw LineError(.schema, url, "the schema is version \(version), newer than this station knows (\(LineSchema.latest)); update the station")
        }
    }
}

/// A continuation resumed once, by whichever side comes first.
final class Once<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Never>?
    private var early: T?
    private var done = false

    func set(_ continuation: CheckedContinuation<T, Never>) {
        lock.lock()
        if let early { lock.unlock(); continuation.resume(returning: early); return }
        self.continuation = continuation
        lock.unlock()
    }

    /// True when this call resumed it.
    @discardableResult
    func resume(_ value: T) -> Bool {
        lock.lock()
        guard !done else { lock.unlock(); return false }
        done = true
        if let continuation { self.continuation = nil; lock.unlock(); continuation.resume(returning: value); return true }
        early = value
        lock.unlock()
        return true
    }
}
