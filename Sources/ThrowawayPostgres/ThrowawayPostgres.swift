import Foundation

/// A throwaway PostgreSQL server for one test or benchmark run (Debian's `postgresql`
/// package: `initdb` into a temporary folder, run as an unprivileged user, on a loopback port
/// and a Unix socket in that folder), never a shared one. Without the package it is an error
/// with the reason, never a skip.
public final class ThrowawayPostgres: @unchecked Sendable {
    public struct Unavailable: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { "no throwaway PostgreSQL server: \(reason)" }
    }

    public let folder: URL
    public let port: Int
    public let bin: URL
    public let tls: Bool
    /// The user the server runs as when the tests run as root (initdb refuses root).
    let runAs: String?
    var data: URL { folder.appendingPathComponent("data") }
    /// The folder of its Unix socket.
    public var socketFolder: String { folder.path }

    /// `postgresql://station@127.0.0.1:PORT/line` (`sslmode=require` with TLS on).
    public var url: String { "postgresql://station@127.0.0.1:\(port)/line" + (tls ? "?sslmode=require" : "") }
    /// The same database through the Unix socket.
    public var socketURL: String { "postgresql://station@/line?host=\(socketFolder)&port=\(port)" }
    /// The server's self-signed certificate (TLS on).
    public var certificate: String { data.appendingPathComponent("server.crt").path }

    /// The server's major version (the folder Debian installs it in: `/usr/lib/postgresql/15`).
    public var version: String { bin.deletingLastPathComponent().lastPathComponent }

    /// Starts a new server. `tls`: `ssl=on` with a self-signed certificate (openssl), and only
    /// TLS accepted over TCP. `durable`: `fsync` on, as a real line's server runs (the tests
    /// turn it off: they measure nothing and a loaded machine's disk is slow).
    public static func start(tls: Bool = false, durable: Bool = false) async throws -> ThrowawayPostgres {
        guard let bin = installed() else {
            throw Unavailable(reason: "initdb was not found under /usr/lib/postgresql/*/bin; install Debian's postgresql package (.ci/run does)")
        }
        let folder = URL(fileURLWithPath: "/tmp/station-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let runAs: String? = getuid() == 0 ? "postgres" : nil
        let server = ThrowawayPostgres(folder: folder, port: try freePort(), bin: bin, tls: tls, runAs: runAs)
        if let runAs { try await server.shell("/bin/chown", [runAs, folder.path], asServer: false) }
        try await server.shell(bin.appendingPathComponent("initdb").path,
                               ["-D", server.data.path, "-U", "station", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
        var conf = "listen_addresses = '127.0.0.1'\nport = \(server.port)\nunix_socket_directories = '\(folder.path)'\nfsync = \(durable ? "on" : "off")\nmax_connections = 60\n"
        if tls {
            try await server.shell("/usr/bin/openssl", ["req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=localhost",
                                                        "-keyout", server.data.appendingPathComponent("server.key").path,
                                                        "-out", server.certificate])
            try await server.shell("/bin/chmod", ["600", server.data.appendingPathComponent("server.key").path])
            conf += "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
            // Over TCP only TLS is accepted: a plain connection would be refused.
            try "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n"
                .write(to: server.data.appendingPathComponent("pg_hba.conf"), atomically: true, encoding: .utf8)
        }
        let handle = try FileHandle(forWritingTo: server.data.appendingPathComponent("postgresql.conf"))
        handle.seekToEndOfFile()
        handle.write(Data(conf.utf8))
        try handle.close()
        if let runAs { try await server.shell("/bin/chown", ["-R", runAs, folder.path], asServer: false) }
        try await server.begin()
        try await server.shell(bin.appendingPathComponent("createdb").path, ["-h", folder.path, "-p", String(server.port), "-U", "station", "line"])
        return server
    }

    init(folder: URL, port: Int, bin: URL, tls: Bool, runAs: String?) {
        self.folder = folder
        self.port = port
        self.bin = bin
        self.tls = tls
        self.runAs = runAs
    }

    /// The newest `initdb` Debian installed.
    static func installed() -> URL? {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { root.appendingPathComponent($0).appendingPathComponent("bin") }
            .first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("initdb").path) }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Unavailable(reason: "no free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a command (as the server's user where the tests run as root); throws with its
    /// output when it fails. posix_spawn and waitpid on a thread of its own: the command's
    /// status is its own, whatever children it leaves running (pg_ctl leaves the server,
    /// which keeps the output file open).
    func shell(_ path: String, _ arguments: [String], asServer: Bool = true) async throws {
        let (executable, all) = asServer && runAs != nil ? ("/usr/sbin/runuser", ["-u", runAs!, "--", path] + arguments) : (path, arguments)
        let log = folder.appendingPathComponent("command.log").path
        let status: Int32 = try await Self.onThreadOfItsOwn {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + all).map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            var pid = pid_t()
            let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
            guard spawned == 0 else { throw Unavailable(reason: "cannot start \(executable): \(String(cString: strerror(spawned)))") }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        }
        guard status == 0 else {
            let text = (try? String(contentsOf: URL(fileURLWithPath: log), encoding: .utf8)) ?? ""
            throw Unavailable(reason: "\((path as NSString).lastPathComponent) \(arguments.joined(separator: " ")) failed (\(status)): \(text.suffix(800))")
        }
    }

    static func onThreadOfItsOwn<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Starts the server (after `stop`, the same data: a restart).
    public func begin() async throws {
        try await shell(bin.appendingPathComponent("pg_ctl").path,
                        ["-D", data.path, "-l", folder.appendingPathComponent("server.log").path, "-w", "-t", "60", "start"])
    }

    /// Stops it (`-m immediate`: as a crash would, no checkpoint).
    public func stop(immediate: Bool = false) async throws {
        try await shell(bin.appendingPathComponent("pg_ctl").path, ["-D", data.path, "-m", immediate ? "immediate" : "fast", "-w", "stop"])
    }

    /// Runs SQL through psql (an independent client), returning its unaligned output.
    public func psql(_ sql: String, database: String = "line") async throws -> String {
        let out = folder.appendingPathComponent("psql-\(UUID().uuidString.prefix(6)).out")
        try await shell(bin.appendingPathComponent("psql").path,
                        ["-h", folder.path, "-p", String(port), "-U", "station", "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql, "-o", out.path])
        return ((try? String(contentsOf: out, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Creates another database on the server (owned by `station`).
    public func createDatabase(_ name: String) async throws {
        try await shell(bin.appendingPathComponent("createdb").path, ["-h", folder.path, "-p", String(port), "-U", "station", name])
    }

    /// The URL of database `name` on this server (TCP).
    public func url(database name: String) -> String {
        "postgresql://station@127.0.0.1:\(port)/\(name)" + (tls ? "?sslmode=require" : "")
    }

    /// Stops it and removes its folder.
    public func destroy() async {
        try? await stop()
        try? FileManager.default.removeItem(at: folder)
    }
}
