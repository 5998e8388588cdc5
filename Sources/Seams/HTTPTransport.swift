/// One HTTP request, as a value: it can be logged (without its Authorization header), compared
/// and replayed.
public struct HTTPRequest: Hashable, Sendable {
    public enum Method: String, Hashable, Sendable {
        case get = "GET", post = "POST", put = "PUT", delete = "DELETE", head = "HEAD"
    }

    /// A multipart/form-data part: a field, or a file with a name and content type.
    public struct Part: Hashable, Sendable {
        public var name: String
        public var fileName: String?
        public var contentType: String?
        public var data: [UInt8]
        public init(name: String, fileName: String? = nil, contentType: String? = nil, data: [UInt8]) {
            self.name = name
            self.fileName = fileName
            self.contentType = contentType
            self.data = data
        }
    }

    public enum Body: Hashable, Sendable {
        case none
        case bytes([UInt8], contentType: String)
        case multipart([Part])
    }

    public var method: Method
    /// Absolute URL text, e.g. `https://api.particle.io/v1/products/123/devices`. Never
    /// carries a token.
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: Body
    /// Connect and total limits.
    public var connectTimeout: Duration
    public var timeout: Duration

    public init(method: Method, url: String, headers: [(name: String, value: String)] = [], body: Body = .none,
                connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(60)) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body && lhs.connectTimeout == rhs.connectTimeout
            && lhs.timeout == rhs.timeout && lhs.headers.map { "\($0.name):\($0.value)" } == rhs.headers.map { "\($0.name):\($0.value)" }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(method)
        hasher.combine(url)
        hasher.combine(body)
    }
}

/// A response: status, headers in order (names as sent), body.
public struct HTTPResponse: Hashable, Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A header by name, case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }
}

/// What can go wrong before a response arrives.
public enum HTTPTransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The URL is not usable (or is plain http to a host that is not loopback).
    case refusedURL(String, reason: String)
    /// No connection: DNS, refused, unreachable.
    case connect(String)
    /// The connect or total timeout passed.
    case timeout(String)
    /// TLS failed (certificate not trusted, handshake).
    case tls(String)
    /// The connection broke mid-request or another network fault; `code` is the library's.
    case network(code: Int, String)

    public var description: String {
        switch self {
        case .refusedURL(let url, let reason): "refused to request \(url): \(reason)"
        case .connect(let detail): "could not connect: \(detail)"
        case .timeout(let detail): "timed out: \(detail)"
        case .tls(let detail): "TLS failed: \(detail)"
        case .network(let code, let detail): "network error \(code): \(detail)"
        }
    }
}

/// Sends one HTTP request. Implemented by the libcurl adapter.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse
}
