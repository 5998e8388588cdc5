import Foundation
import Seams

/// The Particle cloud API a station uses, typed, over the HTTP transport seam. Tokens go in
/// the Authorization header only; URLs never carry them. Each method does one request and
/// maps the status to `CloudError`; retrying is the caller's policy (`RetryPolicy`).
public struct ParticleCloudClient: Sendable {
    public let transport: any HTTPTransport
    /// e.g. `https://api.particle.io` (no trailing slash needed).
    public let baseURL: String
    public let token: Token
    public var timeout: Duration = .seconds(60)

    public init(transport: any HTTPTransport, baseURL: String, token: Token) {
        self.transport = transport
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
    }

    // MARK: Devices in a product

    /// POST /v1/products/:p/devices with `ids` as a JSON array.
    public func importDevices(_ ids: [String], into product: ProductKey, importSIMs: Bool) async throws(CloudError) -> ImportResult {
        let body: [String: Any] = ["ids": ids, "import_sims": importSIMs]
        return try decodeImport(try await send(.post, "/v1/products/\(escape(product.text))/devices", json: body))
    }

    /// The same import with a multipart `file` (one value per line), as the console's "Add
    /// many devices" does.
    public func importDevicesFile(_ values: [String], into product: ProductKey, importSIMs: Bool) async throws(CloudError) -> ImportResult {
        let file = Array((values.joined(separator: "\n") + "\n").utf8)
        let parts = [
            HTTPRequest.Part(name: "file", fileName: "devices.txt", contentType: "text/plain", data: file),
            HTTPRequest.Part(name: "import_sims", data: Array((importSIMs ? "true" : "false").utf8)),
        ]
        return try decodeImport(try await send(HTTPRequest(method: .post, url: url("/v1/products/\(escape(product.text))/devices"), body: .multipart(parts))))
    }

    /// POST /v1/products/:p/sims: import (and activate) SIMs by ICCID.
    public func importSIMs(_ iccids: [String], into product: ProductKey) async throws(CloudError) {
        _ = try await send(.post, "/v1/products/\(escape(product.text))/sims", json: ["sims": iccids])
    }

    /// GET /v1/products/:p/devices, one page.
    public func productDevices(_ product: ProductKey, page: Int = 1, perPage: Int = 25) async throws(CloudError) -> DevicePage {
        try decode(try await send(.get, "/v1/products/\(escape(product.text))/devices?page=\(page)&per_page=\(perPage)"))
    }

    /// How many devices the product holds: one device per page, so `total_pages` is the count.
    public func productDeviceCount(_ product: ProductKey) async throws(CloudError) -> Int {
        let page = try await productDevices(product, page: 1, perPage: 1)
        guard let total = page.meta?.totalPages else { throw .malformed("no meta.total_pages in the device list") }
        return total
    }

    public func device(_ id: String, in product: ProductKey? = nil) async throws(CloudError) -> CloudDevice {
        let path = product.map { "/v1/products/\(escape($0.text))/devices/\(escape(id))" } ?? "/v1/devices/\(escape(id))"
        return try decode(try await send(.get, path))
    }

    /// PUT /v1/products/:p/devices/:id: name and groups.
    public func updateDevice(_ id: String, in product: ProductKey, name: String? = nil, groups: [String]? = nil) async throws(CloudError) -> CloudDevice {
        var body: [String: Any] = [:]
        if let name { body["name"] = name }
        if let groups { body["groups"] = groups.joined(separator: ",") }
        return try decode(try await send(.put, "/v1/products/\(escape(product.text))/devices/\(escape(id))", json: body))
    }

    /// DELETE /v1/products/:p/devices/:id.
    public func removeDevice(_ id: String, from product: ProductKey) async throws(CloudError) {
        _ = try await send(.delete, "/v1/products/\(escape(product.text))/devices/\(escape(id))")
    }

    // MARK: Ownership

    /// POST /v1/devices: claim to the calling account.
    public func claim(_ id: String) async throws(CloudError) {
        _ = try await send(.post, "/v1/devices", json: ["id": id])
    }

    /// DELETE /v1/devices/:id (sandbox) or /v1/products/:p/devices/:id/owner.
    public func unclaim(_ id: String, in product: ProductKey? = nil) async throws(CloudError) {
        let path = product.map { "/v1/products/\(escape($0.text))/devices/\(escape(id))/owner" } ?? "/v1/devices/\(escape(id))"
        _ = try await send(.delete, path)
    }

    // MARK: SIMs

    /// PUT /v1/sims/:iccid (sandbox) or /v1/products/:p/sims/:iccid.
    public func sim(_ iccid: String, _ action: SIMAction, in product: ProductKey? = nil) async throws(CloudError) {
        let path = product.map { "/v1/products/\(escape($0.text))/sims/\(escape(iccid))" } ?? "/v1/sims/\(escape(iccid))"
        _ = try await send(.put, path, json: ["action": action.rawValue])
    }

    /// DELETE /v1/sims/:iccid or /v1/products/:p/sims/:iccid: release (and deactivate).
    public func releaseSIM(_ iccid: String, from product: ProductKey? = nil) async throws(CloudError) {
        let path = product.map { "/v1/products/\(escape($0.text))/sims/\(escape(iccid))" } ?? "/v1/sims/\(escape(iccid))"
        _ = try await send(.delete, path)
    }

    /// GET /v1/access_tokens/current.
    public func tokenInfo() async throws(CloudError) -> TokenInfo {
        try decode(try await send(.get, "/v1/access_tokens/current"))
    }

    // MARK: Plumbing

    func url(_ path: String) -> String { baseURL + path }

    func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? segment
    }

    func send(_ method: HTTPRequest.Method, _ path: String, json: [String: Any]? = nil) async throws(CloudError) -> HTTPResponse {
        var body: HTTPRequest.Body = .none
        if let json {
            guard let data = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) else { throw .malformed("could not encode the request") }
            body = .bytes([UInt8](data), contentType: "application/json")
        }
        return try await send(HTTPRequest(method: method, url: url(path), body: body))
    }

    func send(_ request: HTTPRequest) async throws(CloudError) -> HTTPResponse {
        var request = request
        request.headers.append((name: "Authorization", value: "Bearer \(token.bearerValue)"))
        request.headers.append((name: "Accept", value: "application/json"))
        request.timeout = timeout
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch {
            throw .transport(error)
        }
        // Redacted before it is cut, printed or stored: a server or proxy that echoes the
        // request's headers would carry the token into the error (issue 15).
        let text = String(Redaction.redact(String(decoding: response.body, as: UTF8.self), secrets: [token.bearerValue]).prefix(500))
        switch response.status {
        case 200..<300: return response
        case 400: throw .badRequest(body: text)
        case 401: throw .tokenInvalid(body: text)
        case 403: throw .forbidden(body: text)
        case 404: throw .notFound(body: text)
        case 429: throw .rateLimited(retryAfter: response.header("Retry-After").flatMap(Int.init).map { .seconds($0) })
        case 500..<600: throw .server(status: response.status, body: text)
        default: throw .unexpected(status: response.status, body: text)
        }
    }

    func decode<T: Decodable>(_ response: HTTPResponse) throws(CloudError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw .malformed("\(T.self): \(error)")
        }
    }

    func decodeImport(_ response: HTTPResponse) throws(CloudError) -> ImportResult {
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw .malformed("the import reply is not a JSON object")
        }
        var arrays: [String: [String]] = [:]
        for (key, value) in object {
            guard let list = value as? [Any] else { continue }
            arrays[key] = list.compactMap { $0 as? String }
        }
        return ImportResult(arrays: arrays, updatedCount: object["updated"] as? Int)
    }
}
