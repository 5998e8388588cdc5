import Seams

/// A cloud call that did not succeed, with what a technician or QA lead can act on.
public enum CloudError: Error, Hashable, Sendable, CustomStringConvertible {
    /// 401: the token is invalid or expired. Retrying will not help: syncing stops.
    case tokenInvalid(body: String)
    /// 403: the token may not do this (a missing scope, another owner's device).
    case forbidden(body: String)
    /// 404: no such product, device or SIM (or not visible to this token).
    case notFound(body: String)
    /// 400: the request was refused as it stands (includes the free-plan device limit).
    case badRequest(body: String)
    /// 429: too many requests; `retryAfter` when the server said.
    case rateLimited(retryAfter: Duration?)
    /// 5xx.
    case server(status: Int, body: String)
    /// Another status the API does not document here.
    case unexpected(status: Int, body: String)
    /// No response: connect, TLS, timeout, broken connection.
    case transport(HTTPTransportError)
    /// A 2xx whose body is not what the API documents.
    case malformed(String)

    /// Stable code for logs and the technician's screen.
    public var code: String {
        switch self {
        case .tokenInvalid: "CLOUD-TOKEN-INVALID"
        case .forbidden: "CLOUD-FORBIDDEN"
        case .notFound: "CLOUD-NOT-FOUND"
        case .badRequest: "CLOUD-BAD-REQUEST"
        case .rateLimited: "CLOUD-RATE-LIMITED"
        case .server(let status, _): "CLOUD-SERVER-\(status)"
        case .unexpected(let status, _): "CLOUD-HTTP-\(status)"
        case .transport: "CLOUD-NETWORK"
        case .malformed: "CLOUD-MALFORMED"
        }
    }

    /// Worth retrying later with backoff (the network, rate limits, server trouble).
    public var isTransient: Bool {
        switch self {
        case .rateLimited, .server, .transport: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .tokenInvalid(let body):
            "[\(code)] the cloud refused the token (401: invalid or expired); syncing stopped. Put a valid product token in the credentials file. \(body)"
        case .forbidden(let body): "[\(code)] the token is not allowed to do this (403); check the API user's scopes. \(body)"
        case .notFound(let body): "[\(code)] not found (404): check the product ID or slug in the station config. \(body)"
        case .badRequest(let body): "[\(code)] refused (400): \(body)"
        case .rateLimited(let after): "[\(code)] too many requests (429)" + (after.map { "; retrying after \($0)" } ?? "; backing off")
        case .server(let status, let body): "[\(code)] the cloud had an error (\(status)); will retry. \(body)"
        case .unexpected(let status, let body): "[\(code)] unexpected HTTP \(status). \(body)"
        case .transport(let error): "[\(code)] \(error); will retry when the network is back."
        case .malformed(let detail): "[\(code)] the cloud's answer was not understood: \(detail)"
        }
    }
}

/// Bounded exponential backoff with jitter, honouring Retry-After.
public struct RetryPolicy: Hashable, Sendable {
    public var base: Duration
    public var maximum: Duration
    /// The longest Retry-After honoured as given (a longer one is cut to this).
    public var retryAfterCap: Duration

    public init(base: Duration = .seconds(1), maximum: Duration = .seconds(300), retryAfterCap: Duration = .seconds(3600)) {
        self.base = base
        self.maximum = maximum
        self.retryAfterCap = retryAfterCap
    }

    /// The wait before retry number `attempt` (1 = first retry). `jitter` in 0...1 spreads
    /// waits between half and all of the exponential value; a server's Retry-After wins
    /// when it is longer.
    public func delay(attempt: Int, jitter: Double, retryAfter: Duration? = nil) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let raw = min(base * Double(1 << exponent), maximum)
        let spread = raw * (0.5 + 0.5 * min(max(jitter, 0), 1))
        if let retryAfter { return max(spread, min(retryAfter, retryAfterCap)) }
        return spread
    }
}
