import Foundation
import Loopback
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on 127.0.0.1 for the fake cloud: one thread accepts, one thread
/// per connection, `Connection: close` after each response. Enough for curl and for tests;
/// not a general web server.
public final class LoopbackHTTPServer: @unchecked Sendable {
    /// A parsed request.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [String: String]
        public var headers: [String: String]
        public var body: [UInt8]

        public func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    /// What a handler answers: a response, or dropping the connection without one.
    public enum Reply: Sendable {
        case response(status: Int, headers: [String: String], body: [UInt8])
        case drop
    }

    public let port: UInt16
    private let listener: LoopbackListener
    private let counters = Counters()

    /// Responses that could not be delivered because the client had gone (killed or timed
    /// out while its request was in flight).
    public var abandonedResponses: Int { counters.abandoned }

    final class Counters: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        var abandoned: Int { lock.withLock { value } }
        func abandon() { lock.withLock { value += 1 } }
    }

    /// Binds 127.0.0.1 (port 0: any free port) and starts serving `handler`.
    public init(port: UInt16 = 0, handler: @escaping @Sendable (Request) -> Reply) throws(LoopbackError) {
        listener = try LoopbackListener(port: port, backlog: 64)
        self.port = listener.port
        let counters = self.counters
        listener.accept(threadName: "fake-cloud accept") { client in Self.serve(client, handler: handler, counters: counters) }
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func stop() { listener.close() }

    deinit { stop() }

    static func serve(_ fd: Int32, handler: (Request) -> Reply, counters: Counters) {
        defer { close(fd) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let request = read(fd) else { return }
        switch handler(request) {
        case .drop:
            // Reset rather than close politely: the client sees a broken connection.
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        case .response(let status, let headers, let body):
            var head = "HTTP/1.1 \(status) \(reason(status))\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            head += "\r\n"
            if !write(fd, Array(head.utf8) + body) { counters.abandon() }
        }
    }

    /// False when the peer is gone.
    static func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        // A client that has gone (its process killed) has closed its end: a peek reads EOF.
        var probe: UInt8 = 0
        if recv(fd, &probe, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0 { return false }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// Reads one request: head up to CRLFCRLF, then Content-Length bytes of body.
    static func read(_ fd: Int32) -> Request? {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headEnd: Int?
        while headEnd == nil {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buffer += chunk[0..<n]
            headEnd = find(buffer, [13, 10, 13, 10])
            if buffer.count > 1 << 20 && headEnd == nil { return nil }
        }
        guard let end = headEnd else { return nil }
        let head = String(decoding: buffer[0..<end], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = Array(buffer[(end + 4)...])
        while body.count < length {
            let n = recv(fd, &chunk, min(chunk.count, length - body.count), 0)
            if n <= 0 { return nil }
            body += chunk[0..<n]
        }
        let target = String(requestLine[1])
        let parts = target.split(separator: "?", maxSplits: 1)
        return Request(method: String(requestLine[0]), path: String(parts[0]), query: parts.count > 1 ? FormCoding.decode(String(parts[1])) : [:],
                       headers: headers, body: body)
    }

    static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
        return nil
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 202: "Accepted"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

/// application/x-www-form-urlencoded, both ways.
public enum FormCoding {
    public static func decode(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            result[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        return result
    }
}
