import Foundation

/// A line database's address, as a `postgresql://` URL (libpq's form): `postgresql://USER@HOST:PORT/DB`,
/// a Unix socket as `postgresql://USER@/DB?host=/run/postgresql` (or a host that is a path),
/// and `sslmode` = `disable`, `require` or `verify-full` (with `sslrootcert=FILE`). The
/// password never goes in the URL (it would show in `ps` and in the config): it comes from
/// `[line] password_file`, `PGPASSWORD` or `~/.pgpass`. A server that is not on this machine
/// (loopback or a socket) is reached over TLS only.
public struct LineDatabaseURL: Hashable, Sendable, CustomStringConvertible {
    public enum Endpoint: Hashable, Sendable {
        case tcp(host: String, port: Int)
        /// A Unix socket: its folder and the port that names it (`.s.PGSQL.PORT`).
        case socket(folder: String, port: Int)
    }

    public enum TLSMode: String, Hashable, Sendable, CaseIterable {
        case disable
        /// Encrypted, the server's certificate not checked (libpq's `require`).
        case require
        /// Encrypted, the certificate checked against the system's roots or `sslrootcert`.
        case verifyFull = "verify-full"
    }

    public var endpoint: Endpoint
    public var user: String
    public var database: String
    public var tls: TLSMode
    public var rootCertificate: String?

    /// On this machine: a socket, `localhost`, 127.0.0.0/8 or ::1.
    public var isLocal: Bool {
        switch endpoint {
        case .socket: true
        case .tcp(let host, _): Self.isLoopback(host)
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// The URL without anything secret (there is nothing secret in it: the password is
    /// refused), for messages.
    public var description: String {
        let place = switch endpoint {
        case .tcp(let host, let port): (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        case .socket(let folder, let port): "(socket \(folder), port \(port))"
        }
        return "postgresql://\(user)@\(place)/\(database)" + (tls == .disable ? "" : " (TLS \(tls.rawValue))")
    }

    public static func parse(_ text: String, environment: [String: String] = [:]) throws(LineURLError) -> LineDatabaseURL {
        guard text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") else {
            throw .invalid("'\(text)' is not a postgresql:// URL; e.g. postgresql://station@line-db.example:5432/line")
        }
        guard let components = URLComponents(string: text) else { throw .invalid("'\(text)' is not a URL") }
        if components.password != nil || components.percentEncodedUser?.contains(":") == true {
            throw .passwordInURL
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] {
            if item.name == "password" { throw .passwordInURL }
            guard ["host", "port", "sslmode", "sslrootcert", "user", "dbname"].contains(item.name) else {
                throw .invalid("the URL's parameter '\(item.name)' is not one the station reads (host, port, sslmode, sslrootcert)")
            }
            query[item.name] = item.value ?? ""
        }
        let user = query["user"] ?? components.user ?? environment["PGUSER"] ?? environment["USER"] ?? ""
        guard !user.isEmpty else { throw .invalid("no user in '\(text)'; e.g. postgresql://station@HOST/line") }
        let database = query["dbname"] ?? String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw .invalid("no database in '\(text)'; e.g. postgresql://\(user)@HOST/line") }
        let portText = query["port"] ?? components.port.map(String.init) ?? "5432"
        guard let port = Int(portText), (1...65535).contains(port) else { throw .invalid("port '\(portText)' is not a port number") }
        let host = query["host"] ?? components.host.map { $0.hasPrefix("[") ? String($0.dropFirst().dropLast()) : $0 } ?? ""
        let endpoint: Endpoint
        if host.isEmpty || host.hasPrefix("/") {
            endpoint = .socket(folder: host.isEmpty ? "/run/postgresql" : host, port: port)
        } else {
            endpoint = .tcp(host: host, port: port)
        }
        var url = LineDatabaseURL(endpoint: endpoint, user: user, database: database, tls: .disable, rootCertificate: query["sslrootcert"])
        let local = url.isLocal
        let mode = query["sslmode"] ?? (local ? "disable" : "verify-full")
        guard let tls = TLSMode(rawValue: mode) else {
            throw .invalid("sslmode '\(mode)': use disable (this machine only), require or verify-full")
        }
        if tls == .disable && !local { throw .plainOffLoopback(host: host) }
        if case .socket = endpoint, tls != .disable { throw .invalid("a Unix socket is not encrypted; leave sslmode out for host=\(host)") }
        url.tls = tls
        return url
    }
}

/// A line database URL that cannot be used.
public enum LineURLError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalid(String)
    case passwordInURL
    case plainOffLoopback(host: String)

    public var code: String {
        switch self {
        case .invalid: "LINE-URL"
        case .passwordInURL: "LINE-PASSWORD-IN-URL"
        case .plainOffLoopback: "LINE-TLS-REQUIRED"
        }
    }

    public var description: String {
        switch self {
        case .invalid(let problem): problem
        case .passwordInURL:
            "the line database URL carries a password, which `ps` and the config would show. Take it out of the URL and put it in a file only you can read ([line] password_file, mode 0600), PGPASSWORD or ~/.pgpass"
        case .plainOffLoopback(let host):
            "\(host) is not this machine, and the line database is reached over TLS only there: drop sslmode=disable (verify-full is the default), or give sslmode=require"
        }
    }
}

/// `[line]`: the line database this station replicates its records into.
public struct LineConfig: Hashable, Sendable {
    public var database: LineDatabaseURL
    /// A file holding the password (only the owner may read it); nil: `PGPASSWORD` or
    /// `~/.pgpass`, or none (trust, peer or certificate authentication).
    public var passwordFile: String?

    public init(database: LineDatabaseURL, passwordFile: String? = nil) {
        self.database = database
        self.passwordFile = passwordFile
    }

    static func parse(_ fields: TOMLFields) throws(ConfigFileError) -> LineConfig {
        guard let text = try fields.string("database") else {
            throw fields.fail("database", "missing; the line database's URL, e.g. database = \"postgresql://station@line-db:5432/line\" (no password in it).")
        }
        let url: LineDatabaseURL
        do throws(LineURLError) { url = try LineDatabaseURL.parse(text) } catch {
            throw fields.fail("database", error.description + ".")
        }
        return LineConfig(database: url, passwordFile: try fields.string("password_file"))
    }
}
