import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import StationReports

/// Where the dashboard listens: `HOST:PORT` (`[::1]:PORT` for IPv6), loopback by default.
public struct DashboardListen: Hashable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public static let loopback = DashboardListen(host: "127.0.0.1", port: 8080)

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public static func parse(_ text: String) throws(DashboardError) -> DashboardListen {
        let fail = DashboardError(.listen, "--listen '\(text)' is not HOST:PORT (127.0.0.1:8080, [::1]:8080, or 0.0.0.0:8080 with a viewer token)")
        var host = "", portText = ""
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { throw fail }
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = String(text[text.index(close, offsetBy: 2)...])
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { throw fail }
            host = String(text[..<colon])
            portText = String(text[text.index(after: colon)...])
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port), portText.allSatisfy(\.isASCII) else { throw fail }
        return DashboardListen(host: host, port: port)
    }

    /// Only this machine can reach it (127.0.0.0/8, ::1, localhost).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.split(separator: ".").first == "127" && host.split(separator: ".").count == 4
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A dashboard failure with its stable code.
public struct DashboardError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case listen = "DASHBOARD-LISTEN"
        case tokenRequired = "DASHBOARD-TOKEN-REQUIRED"
        case tokenFile = "DASHBOARD-TOKEN-FILE"
        /// Its source failed with an error that carries no code of its own.
        case source = "DASHBOARD-SOURCE"
    }

    public let kind: Kind
    public let message: String
    public var code: String { kind.rawValue }
    public var description: String { message }

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// The viewer token: a file only its owner may read, its first line at least 16 characters.
public enum ViewerToken {
    public static func read(_ path: String) throws(DashboardError) -> String {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let data = FileManager.default.contents(atPath: path) else {
            throw DashboardError(.tokenFile, "cannot read the viewer token file \(path): check the path")
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value ?? 0
        guard mode & 0o077 == 0 else {
            throw DashboardError(.tokenFile, "the viewer token file \(path) may be read by others (mode \(String(mode & 0o777, radix: 8))): chmod 600 \(path)")
        }
        let token = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard token.count >= 16, token.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != ";" && $0 != "," }) else {
            throw DashboardError(.tokenFile, "the viewer token in \(path) must be one line of at least 16 characters without spaces, commas or semicolons")
        }
        return token
    }
}

/// `station line serve`: the dashboard over HTTP (Hummingbird). Read-only by construction:
/// its sources are read-only (stores opened so; database sessions read-only). With a viewer
/// token every request needs it: a sign-in form sets a cookie for the pages, the API takes a
/// bearer header. Pages and the API share the source's data, so they agree.
public struct DashboardServer: Sendable {
    public let source: any DashboardSource
    public let listen: DashboardListen
    public let token: String?
    public let timeZone: TimeZone

    /// Refuses a non-loopback address without a token.
    public init(source: any DashboardSource, listen: DashboardListen, token: String?, timeZone: TimeZone = .current) throws(DashboardError) {
        guard listen.isLoopback || token != nil else {
            throw DashboardError(.tokenRequired, "--listen \(listen) is reachable from other machines: give a viewer token (--viewer-token-file, a 0600 file), or listen on 127.0.0.1")
        }
        self.source = source
        self.listen = listen
        self.token = token
        self.timeZone = timeZone
    }

    static let cookieName = "station_viewer"

    /// Serves until SIGINT or SIGTERM; `running` is told the address once it listens (port 0:
    /// the one the system chose).
    public func run(running: @escaping @Sendable (String) -> Void) async throws {
        var logger = Logger(label: "station.dashboard")
        logger.logLevel = .error
        let address = listen
        let app = Application(
            router: router(), configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                running("http://\(DashboardListen(host: address.host, port: port))/")
            }, logger: logger)
        try await app.runService()
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: Headers())
        router.add(middleware: Unavailable())
        if let token { router.add(middleware: ViewerAuth(token: token)) }
        let source = self.source, timeZone = self.timeZone

        router.get("/static/dashboard.css") { _, _ in Self.text(DashboardPage.stylesheet, type: "text/css; charset=utf-8") }
        router.get("/static/live.js") { _, _ in Self.text(DashboardPage.liveScript, type: "text/javascript; charset=utf-8") }
        router.get("/login") { _, _ in Self.html(DashboardPage.signIn(failed: false)) }
        router.post("/login") { request, _ in
            let body = try await request.body.collect(upTo: 4096)
            let given = Self.formValue("token", in: String(buffer: body))
            guard let token, let given, Self.same(given, token) else { return Self.html(DashboardPage.signIn(failed: true), status: .unauthorized) }
            var headers = HTTPFields()
            headers[.location] = "/"
            headers[.setCookie] = "\(Self.cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict"
            return Response(status: .seeOther, headers: headers)
        }

        router.get("/") { request, _ in
            let range = DashboardRange(request.uri.queryParameters.get("range"), now: Date())
            let version = try await source.version()
            return Self.html(DashboardPage.line(try await source.overview(range, now: Date()), timeZone: timeZone), version: version)
        }
        router.get("/api/line") { request, _ in
            let range = DashboardRange(request.uri.queryParameters.get("range"), now: Date())
            return try Self.json(try await source.overview(range, now: Date()))
        }
        router.get("/stations/:id") { request, context in
            let id = try context.parameters.require("id")
            let range = DashboardRange(request.uri.queryParameters.get("range"), now: Date())
            let version = try await source.version()
            guard let view = try await source.station(id, range: range) else { return Self.html(DashboardPage.noStation(id, range: range), version: version, status: .notFound) }
            return Self.html(DashboardPage.station(view, timeZone: timeZone), version: version)
        }
        router.get("/api/stations/:id") { request, context in
            let id = try context.parameters.require("id")
            let range = DashboardRange(request.uri.queryParameters.get("range"), now: Date())
            guard let view = try await source.station(id, range: range) else { return try Self.json(["error": "station \(id) recorded no attempt in the \(range.label)"], status: .notFound) }
            return try Self.json(view)
        }
        router.get("/failures") { request, _ in
            let range = DashboardRange(request.uri.queryParameters.get("range"), now: Date())
            let station = request.uri.queryParameters.get("station").flatMap { $0.isEmpty ? nil : String($0) }
            let version = try await source.version()
            return Self.html(DashboardPage.failures(try await source.failures(range, station: station), timeZone: timeZone), version: version)
        }
        router.get("/api/failures") { request, _ in
            let range = DashboardRange(request.uri.queryParameters.get("range"), now: Date())
            let station = request.uri.queryParameters.get("station").flatMap { $0.isEmpty ? nil : String($0) }
            return try Self.json(try await source.failures(range, station: station))
        }
        router.get("/api/openapi.json") { _, _ in Self.text(DashboardAPI.document, type: "application/json") }
        router.get("/devices/:id") { _, context in
            let id = try context.parameters.require("id")
            let version = try await source.version()
            guard let history = try await source.device(id) else { return Self.html(DashboardPage.notFound(id), version: version, status: .notFound) }
            return Self.html(DashboardPage.device(history, timeZone: timeZone), version: version)
        }
        router.get("/api/devices/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let history = try await source.device(id) else { return try Self.json(["error": "no device \(id) in the records"], status: .notFound) }
            return try Self.json(history)
        }
        router.get("/search") { request, _ in
            let term = request.uri.queryParameters.get("q") ?? ""
            guard let id = try await source.find(term) else { return Self.html(DashboardPage.notFound(term), status: .notFound) }
            var headers = HTTPFields()
            headers[.location] = "/devices/" + (id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id)
            return Response(status: .seeOther, headers: headers)
        }
        router.get("/api/search") { request, _ in
            let term = request.uri.queryParameters.get("q") ?? ""
            guard let id = try await source.find(term) else { return try Self.json(["error": "nothing in the records is \(term)"], status: .notFound) }
            return try Self.json(["deviceID": id])
        }
        router.get("/events") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                var last = try await source.version()
                try await writer.write(ByteBuffer(string: "retry: 2000\nevent: hello\ndata: \(last)\n\n"))
                var quiet = 0
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try await Task.sleep(for: .seconds(1))
                    // The records unreadable (the line database down): the stream ends, and the
                    // page says reconnecting until they can be read again (its browser retries
                    // every 2 s; the first hello after that brings the page up to date).
                    guard let now = try? await source.version() else { break }
                    if now != last {
                        last = now
                        try await writer.write(ByteBuffer(string: "event: update\ndata: \(now)\n\n"))
                        quiet = 0
                    } else {
                        quiet += 1
                        if quiet >= 15 {
                            try await writer.write(ByteBuffer(string: ": still here\n\n"))
                            quiet = 0
                        }
                    }
                }
                try await writer.finish(nil)
            })
        }
        return router
    }

    static func text(_ text: String, type: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// A page; with `version`, stamped with the records' version read before it was made.
    static func html(_ page: String, version: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        text(version.map { DashboardPage.stamped(page, version: $0) } ?? page, type: "text/html; charset=utf-8", status: status)
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return text(String(decoding: try encoder.encode(value), as: UTF8.self), type: "application/json", status: status)
    }

    /// A field of an `application/x-www-form-urlencoded` body.
    static func formValue(_ name: String, in body: String) -> String? {
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            if parts.first == name { return parts.count > 1 ? parts[1] : "" }
        }
        return nil
    }

    /// Compares without stopping at the first difference (no timing hint of the token).
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = x.count ^ y.count
        for index in 0..<max(x.count, y.count) { difference |= Int((index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)) }
        return difference == 0
    }
}

/// Every response: nothing from elsewhere may load (`default-src 'self'`), no framing, no
/// content sniffing.
struct Headers: RouterMiddleware {
    typealias Context = BasicRequestContext
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }
}

/// A source that cannot read its records (the line database down, a store gone): a page says
/// so with the failure's code and what to do (503), the API answers 503 with `error` and
/// `code`; never an empty 500. The router's own answers (an unknown route) pass through.
struct Unavailable: RouterMiddleware {
    typealias Context = BasicRequestContext
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            let failure = error as? any DashboardSourceError
            let code = failure?.code ?? DashboardError.Kind.source.rawValue, message = failure?.message ?? "the records could not be read: \(error)"
            if request.uri.path.hasPrefix("/api/") || request.uri.path == "/events" {
                return try DashboardServer.json(["error": message, "code": code], status: .serviceUnavailable)
            }
            return DashboardServer.html(DashboardPage.unavailable(code: code, message: message), status: .serviceUnavailable)
        }
    }
}

/// With a viewer token: every request but the stylesheet, the script and the sign-in needs it,
/// as the cookie the sign-in sets or as `Authorization: Bearer TOKEN`. Without it: 401 (the
/// sign-in form for a page, JSON for the API and the events).
struct ViewerAuth: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix("/static/") || path == "/login" { return try await next(request, context) }
        let bearer = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        let cookie = request.headers[values: .cookie].flatMap { $0.split(separator: ";") }.compactMap { part -> String? in
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            return pair.count == 2 && pair[0] == DashboardServer.cookieName ? String(pair[1]) : nil
        }.first
        if let given = bearer ?? cookie, DashboardServer.same(given, token) { return try await next(request, context) }
        if path.hasPrefix("/api/") || path == "/events" {
            var response = try DashboardServer.json(["error": "this dashboard needs its viewer token: Authorization: Bearer TOKEN"], status: .unauthorized)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return DashboardServer.html(DashboardPage.signIn(failed: false), status: .unauthorized)
    }
}
