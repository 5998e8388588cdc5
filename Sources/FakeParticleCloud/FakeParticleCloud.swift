import Seams
import Foundation
import ParticleDevices

/// The documented subset of the Particle cloud API over real HTTP on loopback, for tests, the
/// lab and `station demo`. State is in memory; every call lands in `ledger`, so a test can
/// assert exactly what happened. Behaviour follows `particle-cloud-and-factory.md`; what the
/// docs leave open (the free-plan refusal) is configurable.
public final class FakeParticleCloud: @unchecked Sendable {
    public enum Plan: Sendable { case free, paid }

    public struct Product: Sendable {
        public var id: Int
        public var slug: String
        public var platformID: Int
        public var plan: Plan
        /// The account that owns the product (free-plan counting).
        public var owner: String
        public init(id: Int, slug: String, platformID: Int, plan: Plan, owner: String) {
            self.id = id
            self.slug = slug
            self.platformID = platformID
            self.plan = plan
            self.owner = owner
        }
    }

    /// A device Particle manufactured: the registry import checks against.
    public struct Manufactured: Sendable {
        public var deviceID: String
        public var platformID: Int
        public var serial: String?
        public var iccid: String?
        public init(deviceID: String, platformID: Int, serial: String? = nil, iccid: String? = nil) {
            self.deviceID = deviceID
            self.platformID = platformID
            self.serial = serial
            self.iccid = iccid
        }
    }

    public struct Account: Sendable {
        public var name: String
        public var scopes: Set<String>
        public init(name: String, scopes: Set<String> = FakeParticleCloud.stationScopes) {
            self.name = name
            self.scopes = scopes
        }
    }

    public enum SIMState: String, Sendable { case inactive, active, deactivated, released }

    public struct SIM: Sendable {
        public var state: SIMState
        public var productID: Int?
        public var owner: String?
        public var activations = 0
    }

    /// One call as the fake saw it.
    public struct Call: Sendable, CustomStringConvertible {
        public var method: String
        public var path: String
        /// Which account's token (nil: none or unknown).
        public var account: String?
        public var status: Int
        /// For imports: the IDs sent and the classification returned.
        public var sentIDs: [String]
        public var response: [String: [String]]
        public var description: String { "\(method) \(path) [\(account ?? "-")] -> \(status)" }
    }

    /// Injected trouble, consumed in order by the next requests.
    public enum Fault: Sendable {
        case status(Int, retryAfter: Int?)
        case drop
    }

    public static let stationScopes: Set<String> = [
        "devices:import", "devices:list", "devices:get", "devices:update", "devices:remove", "devices:release",
        "sims:import", "sims:list", "sims:get", "sims:update", "sims:remove",
    ]

    // Everything below is guarded by `lock`.
    private let lock = NSLock()
    private var products: [Int: Product] = [:]
    private var tokens: [String: Account] = [:]
    private var registry: [String: Manufactured] = [:]
    private var membership: [String: Int] = [:]
    private var owners: [String: String] = [:]
    private var names: [String: String] = [:]
    private var groups: [String: Set<String>] = [:]
    private var sims: [String: SIM] = [:]
    private var online: Set<String> = []
    private var protected: Set<String> = []
    private var faults: [Fault] = []
    private var calls: [Call] = []
    private var window: [Date] = []
    /// Devices per free account.
    public var freeDeviceLimit = 100
    /// What the API answers when an import would pass the free limit (undocumented in the real
    /// API, so configurable).
    public var freeLimitResponse: (status: Int, body: String) = (400, #"{"ok":false,"error":"Device limit reached: a free account can have 100 devices"}"#)
    /// Requests per rolling minute before 429 (nil: no limit); `retryAfterSeconds` adds the header.
    public var rateLimit: Int?
    public var retryAfterSeconds: Int?
    /// Added to every response.
    public var latency: Duration = .zero

    public init() {}

    // MARK: Set-up

    public func addProduct(_ product: Product) { lock.withLock { products[product.id] = product } }
    public func addToken(_ token: String, _ account: Account) { lock.withLock { tokens[token] = account } }
    public func manufacture(_ device: Manufactured) {
        lock.withLock {
            registry[device.deviceID] = device
            if let iccid = device.iccid, sims[iccid] == nil { sims[iccid] = SIM(state: .inactive) }
        }
    }
    /// The SIM is active already (imported and activated elsewhere, e.g. with the test
    /// account's product import on a connectivity line).
    public func activateSIM(_ iccid: String) { lock.withLock { sims[iccid, default: SIM(state: .active)].state = .active } }
    /// The device belongs to another account already (import answers nonmember).
    public func setOwner(_ deviceID: String, account: String) { lock.withLock { owners[deviceID] = account } }
    public func setProtected(_ deviceID: String) { _ = lock.withLock { protected.insert(deviceID) } }
    public func inject(_ fault: Fault, times: Int = 1) { lock.withLock { faults += Array(repeating: fault, count: times) } }
    /// The device comes online (its SIM must be active for it to reach the cloud).
    public func bringOnline(_ deviceID: String) -> Bool {
        lock.withLock {
            guard let iccid = registry[deviceID]?.iccid, sims[iccid]?.state == .active else { return false }
            online.insert(deviceID)
            return true
        }
    }

    // MARK: Inspection

    public var ledger: [Call] { lock.withLock { calls } }
    public func isOnline(_ deviceID: String) -> Bool { lock.withLock { online.contains(deviceID) } }
    public func members(of productID: Int) -> Set<String> { lock.withLock { Set(membership.filter { $0.value == productID }.keys) } }
    public func sim(_ iccid: String) -> SIM? { lock.withLock { sims[iccid] } }
    public func owner(of deviceID: String) -> String? { lock.withLock { owners[deviceID] } }
    public func groups(of deviceID: String) -> Set<String> { lock.withLock { groups[deviceID] ?? [] } }
    public func name(of deviceID: String) -> String? { lock.withLock { names[deviceID] } }

    /// Serves on loopback until the returned server is stopped.
    public func serve(port: UInt16 = 0) throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer(port: port) { [self] request in handle(request) }
    }

    // MARK: The API

    func handle(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Reply {
        if latency > .zero { Thread.sleep(forTimeInterval: latency.inSeconds) }
        return lock.withLock { route(request) }
    }

    private func json(_ status: Int, _ object: Any, headers: [String: String] = [:]) -> LoopbackHTTPServer.Reply {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return .response(status: status, headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a }, body: [UInt8](body))
    }

    private func record(_ request: LoopbackHTTPServer.Request, _ account: String?, _ status: Int, sent: [String] = [], response: [String: [String]] = [:]) {
        calls.append(Call(method: request.method, path: request.path, account: account, status: status, sentIDs: sent, response: response))
    }

    private func route(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Reply {
        let token = request.header("authorization").flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        let account = token.flatMap { tokens[$0] }
        if !faults.isEmpty {
            let fault = faults.removeFirst()
            switch fault {
            case .drop:
                record(request, account?.name, 0)
                return .drop
            case .status(let code, let retryAfter):
                record(request, account?.name, code)
                return json(code, ["ok": false, "error": code == 429 ? "Too many requests" : "Server error"],
                            headers: retryAfter.map { ["Retry-After": String($0)] } ?? [:])
            }
        }
        if let rateLimit {
            let now = Date()
            window = window.filter { now.timeIntervalSince($0) < 60 } + [now]
            if window.count > rateLimit {
                record(request, account?.name, 429)
                return json(429, ["ok": false, "error": "Too many requests"], headers: retryAfterSeconds.map { ["Retry-After": String($0)] } ?? [:])
            }
        }
        guard let account else {
            record(request, nil, 401)
            return json(401, ["error": "invalid_token", "error_description": "The access token provided is invalid."])
        }
        let segments = request.path.split(separator: "/").map(String.init)
        let form = params(request)
        func need(_ scope: String) -> LoopbackHTTPServer.Reply? {
            guard account.scopes.contains(scope) else {
                record(request, account.name, 403)
                return json(403, ["ok": false, "error": "Permission Denied", "info": "missing scope \(scope)"])
            }
            return nil
        }
        func product(_ key: String) -> Product? { products.values.first { String($0.id) == key || $0.slug == key } }
        func notFound() -> LoopbackHTTPServer.Reply {
            record(request, account.name, 404)
            return json(404, ["ok": false, "error": "Not found"])
        }

        func match(_ method: String, _ pattern: [String]) -> [String]? {
            guard request.method == method, segments.count == pattern.count else { return nil }
            var captures: [String] = []
            for (segment, want) in zip(segments, pattern) {
                if want == "*" { captures.append(segment) } else if segment != want { return nil }
            }
            return captures
        }
        repeat {
            if match("GET", ["v1", "access_tokens", "current"]) != nil {
            record(request, account.name, 200)
            return json(200, ["scopes": account.scopes.sorted(), "client": "station", "expires_at": "2027-01-01T00:00:00.000Z"])

            }
            if let captures = match("POST", ["v1", "products", "*", "devices"]) {
                let p = captures[0]
            if let denied = need("devices:import") { return denied }
            guard let product = product(p) else { return notFound() }
            return importDevices(request, form: form, product: product, account: account)

            }
            if let captures = match("GET", ["v1", "products", "*", "devices"]) {
                let p = captures[0]
            if let denied = need("devices:list") { return denied }
            guard let product = product(p) else { return notFound() }
            let ids = membership.filter { $0.value == product.id }.keys.sorted()
            let perPage = max(1, Int(form["per_page"] ?? "25") ?? 25), page = max(1, Int(form["page"] ?? "1") ?? 1)
            let slice = ids.dropFirst((page - 1) * perPage).prefix(perPage)
            record(request, account.name, 200)
            return json(200, ["devices": slice.map(deviceJSON), "customers": [] as [Any], "meta": ["total_pages": (ids.count + perPage - 1) / perPage]])

            }
            if let captures = match("GET", ["v1", "products", "*", "devices", "*"]) {
                let p = captures[0]
                let id = captures[1]
            if let denied = need("devices:get") { return denied }
            guard let product = product(p), membership[id] == product.id else { return notFound() }
            record(request, account.name, 200)
            return json(200, deviceJSON(id))

            }
            if let captures = match("GET", ["v1", "devices", "*"]) {
                let id = captures[0]
            if let denied = need("devices:get") { return denied }
            guard registry[id] != nil, owners[id] == account.name else { return notFound() }
            record(request, account.name, 200)
            return json(200, deviceJSON(id))

            }
            if let captures = match("PUT", ["v1", "products", "*", "devices", "*"]) {
                let p = captures[0]
                let id = captures[1]
            if let denied = need("devices:update") { return denied }
            guard let product = product(p), membership[id] == product.id else { return notFound() }
            if let name = form["name"] { names[id] = name }
            if let list = form["groups"] { groups[id] = Set(list.split(separator: ",").map(String.init)) }
            record(request, account.name, 200)
            return json(200, deviceJSON(id))

            }
            if let captures = match("DELETE", ["v1", "products", "*", "devices", "*"]) {
                let p = captures[0]
                let id = captures[1]
            if let denied = need("devices:remove") { return denied }
            guard let product = product(p), membership[id] == product.id else { return notFound() }
            membership[id] = nil
            owners[id] = nil
            record(request, account.name, 204)
            return .response(status: 204, headers: [:], body: [])

            }
            if let captures = match("DELETE", ["v1", "products", "*", "devices", "*", "owner"]) {
                let p = captures[0]
                let id = captures[1]
            if let denied = need("devices:release") { return denied }
            guard let product = product(p), membership[id] == product.id else { return notFound() }
            owners[id] = nil
            record(request, account.name, 200)
            return json(200, ["ok": true])

            }
            if match("POST", ["v1", "devices"]) != nil {
            guard let id = form["id"], registry[id] != nil else { return notFound() }
            if let owner = owners[id], owner != account.name {
                record(request, account.name, 403)
                return json(403, ["ok": false, "errors": ["That belongs to someone else. To request a transfer add ?request_transfer=true to the URL."]])
            }
            // Sandbox claims need the device online; product members can be claimed offline.
            guard membership[id] != nil || online.contains(id) else {
                record(request, account.name, 400)
                return json(400, ["ok": false, "errors": ["Device is not connected"]])
            }
            owners[id] = account.name
            record(request, account.name, 200)
            return json(200, ["ok": true, "deviceID": id, "claimed": true])

            }
            if let captures = match("DELETE", ["v1", "devices", "*"]) {
                let id = captures[0]
            guard owners[id] == account.name else { return notFound() }
            owners[id] = nil
            record(request, account.name, 200)
            return json(200, ["ok": true])

            }
            if let captures = match("POST", ["v1", "products", "*", "sims"]) {
                let p = captures[0]
            if let denied = need("sims:import") { return denied }
            guard let product = product(p) else { return notFound() }
            let iccids = (form["sims"].map { [$0] } ?? []) + jsonArray(request, "sims")
            for iccid in iccids where sims[iccid] != nil {
                sims[iccid]!.productID = product.id
                activate(iccid)
                if let device = registry.values.first(where: { $0.iccid == iccid }), membership[device.deviceID] == nil { membership[device.deviceID] = product.id }
            }
            record(request, account.name, 200, sent: iccids)
            return json(200, ["ok": true])

            }
            if let captures = match("PUT", ["v1", "sims", "*"]) ?? match("PUT", ["v1", "products", "*", "sims", "*"]) {
                let iccid = captures[captures.count - 1]
                if let denied = need("sims:update") { return denied }
                guard var sim = sims[iccid] else { return notFound() }
                switch form["action"] {
                case "activate":
                    guard segments.count == 3, sim.productID == nil else {
                        record(request, account.name, 400)
                        return json(400, ["ok": false, "error": "Product SIMs are activated by importing them into the product"])
                    }
                    sim.owner = account.name
                    sims[iccid] = sim
                    activate(iccid)
                case "deactivate": sims[iccid]!.state = .deactivated
                case "reactivate": activate(iccid)
                default:
                    record(request, account.name, 400)
                    return json(400, ["ok": false, "error": "action must be activate, deactivate or reactivate"])
                }
                record(request, account.name, 200)
                return json(200, ["ok": true, "iccid": iccid, "status": sims[iccid]!.state.rawValue])
            }
            if let captures = match("DELETE", ["v1", "sims", "*"]) ?? match("DELETE", ["v1", "products", "*", "sims", "*"]) {
                let iccid = captures[captures.count - 1]
                if let denied = need("sims:remove") { return denied }
                guard let sim = sims[iccid] else { return notFound() }
                sims[iccid] = SIM(state: .released, productID: nil, owner: nil, activations: sim.activations)
                record(request, account.name, 204)
                return .response(status: 204, headers: [:], body: [])
            }
            return notFound()
        } while false
    }

    private func activate(_ iccid: String) {
        if sims[iccid]?.state != .active { sims[iccid]?.activations += 1 }
        sims[iccid]?.state = .active
    }

    private func deviceJSON(_ id: String) -> [String: Any] {
        let device = registry[id]
        var object: [String: Any] = ["id": id, "platform_id": device?.platformID ?? 0, "online": online.contains(id), "development": false,
                                     "quarantined": false, "denied": false, "groups": (groups[id] ?? []).sorted()]
        if let product = membership[id] { object["product_id"] = product }
        if let serial = device?.serial { object["serial_number"] = serial }
        if let iccid = device?.iccid { object["iccid"] = iccid }
        if let name = names[id] { object["name"] = name }
        if let owner = owners[id] { object["owner"] = owner }
        return object
    }

    private func params(_ request: LoopbackHTTPServer.Request) -> [String: String] {
        var result = request.query
        let type = request.header("content-type") ?? ""
        if type.hasPrefix("application/x-www-form-urlencoded") {
            result.merge(FormCoding.decode(String(decoding: request.body, as: UTF8.self))) { _, new in new }
        } else if type.hasPrefix("application/json"), let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] {
            for (key, value) in object {
                if let text = value as? String { result[key] = text } else if let flag = value as? Bool { result[key] = flag ? "true" : "false" }
                else if let number = value as? NSNumber { result[key] = number.stringValue }
            }
        } else if type.hasPrefix("multipart/form-data"), let boundary = type.components(separatedBy: "boundary=").last {
            for (name, value) in Multipart.parse(request.body, boundary: boundary.trimmingCharacters(in: CharacterSet(charactersIn: "\""))) {
                result[name] = String(decoding: value, as: UTF8.self)
            }
        }
        return result
    }

    private func jsonArray(_ request: LoopbackHTTPServer.Request, _ key: String) -> [String] {
        guard (request.header("content-type") ?? "").hasPrefix("application/json"),
            let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any]
        else { return [] }
        return (object[key] as? [Any])?.compactMap { $0 as? String } ?? []
    }

    /// POST /v1/products/:p/devices: `id`, `ids` (JSON array) or `file` (multipart, one
    /// token per line); `import_sims`.
    private func importDevices(_ request: LoopbackHTTPServer.Request, form: [String: String], product: Product, account: Account) -> LoopbackHTTPServer.Reply {
        var sent = jsonArray(request, "ids")
        if let one = form["id"] { sent.append(one) }
        if let file = form["file"] {
            // Unicode scalars, not Characters: CR LF is one Character and neither "\n" nor "\r".
            sent += file.unicodeScalars.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "," || $0 == " " || $0 == "\t" }).map { String(String.UnicodeScalarView($0)) }
        }
        guard !sent.isEmpty else {
            record(request, account.name, 400)
            return json(400, ["ok": false, "error": "Provide id, ids or file"])
        }
        let importSIMs = form["import_sims"] == "true" || (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])?["import_sims"] as? Bool == true
        // Free plan: every device in every product of the owner counts.
        if product.plan == .free {
            let ownerProducts = Set(products.values.filter { $0.owner == product.owner }.map(\.id))
            let counted = membership.values.filter { ownerProducts.contains($0) }.count
            let new = Set(sent.compactMap(resolve)).filter { membership[$0] == nil }.count
            if counted + new > freeDeviceLimit {
                record(request, account.name, freeLimitResponse.status, sent: sent)
                return .response(status: freeLimitResponse.status, headers: ["Content-Type": "application/json"], body: Array(freeLimitResponse.body.utf8))
            }
        }
        var result: [String: [String]] = ["updatedDeviceIds": [], "existingDeviceIds": [], "nonmemberDeviceIds": [], "invalidDeviceIds": []]
        for token in sent {
            guard let id = resolve(token), let device = registry[id], device.platformID == product.platformID else {
                result["invalidDeviceIds", default: []].append(token)
                continue
            }
            if protected.contains(id) {
                result["protectedDeviceIds", default: []].append(token)
            } else if let other = membership[id], other != product.id {
                result["invalidDeviceIds", default: []].append(token)  // in another product
            } else if membership[id] == product.id {
                result["existingDeviceIds", default: []].append(token)
            } else if let owner = owners[id], owner != account.name && owner != product.owner {
                result["nonmemberDeviceIds", default: []].append(token)
            } else {
                membership[id] = product.id
                result["updatedDeviceIds", default: []].append(token)
                if importSIMs, let iccid = device.iccid {
                    sims[iccid]?.productID = product.id
                    activate(iccid)
                }
            }
        }
        record(request, account.name, 200, sent: sent, response: result)
        var body: [String: Any] = result
        body["updated"] = result["updatedDeviceIds"]?.count ?? 0
        return json(200, body)
    }

    /// A device ID, serial number or ICCID to the device ID.
    private func resolve(_ token: String) -> String? {
        let lower = token.lowercased()
        if registry[lower] != nil { return lower }
        return registry.values.first { $0.serial == token.uppercased() || $0.iccid == token }?.deviceID
    }
}

/// multipart/form-data parsing for the fake's `file` and field parts.
enum Multipart {
    static func parse(_ body: [UInt8], boundary: String) -> [(String, [UInt8])] {
        let delimiter = Array("--\(boundary)".utf8)
        var result: [(String, [UInt8])] = []
        var positions: [Int] = []
        var index = 0
        while index + delimiter.count <= body.count {
            if body[index] == delimiter[0] && body[index..<(index + delimiter.count)].elementsEqual(delimiter) {
                positions.append(index)
                index += delimiter.count
            } else {
                index += 1
            }
        }
        for (start, end) in zip(positions, positions.dropFirst()) {
            let part = Array(body[(start + delimiter.count)..<end])
            guard let split = LoopbackHTTPServer.find(part, [13, 10, 13, 10]) else { continue }
            let head = String(decoding: part[0..<split], as: UTF8.self)
            guard let range = head.range(of: "name=\"") else { continue }
            let name = String(head[range.upperBound...].prefix { $0 != "\"" })
            var value = Array(part[(split + 4)...])
            if value.suffix(2) == [13, 10] { value.removeLast(2) }
            result.append((name, value))
        }
        return result
    }
}
