import Foundation

/// A Device OS release number (`6.2.0`), ordered.
public struct DeviceOSRelease: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let parts: [Int]
    public init?(_ text: String) {
        let core = text.split(separator: "-").first.map(String.init) ?? text
        let parts = core.split(separator: ".").map { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ $0 != nil }) else { return nil }
        self.parts = parts.map { $0! }
    }
    public static func < (a: Self, b: Self) -> Bool { a.parts.lexicographicallyPrecedes(b.parts) }
    public var description: String { parts.map(String.init).joined(separator: ".") }
}

/// What a Device OS release supports over USB, as data (`device-os-capabilities.json`).
public struct DeviceOSCapabilities: Sendable {
    public enum Capability: String, Sendable, CaseIterable, Decodable {
        case controlRequests, moduleInfoRequest, cellularIdentityRequest, imeiInCellularIdentity, setupDoneBit, legacyReset, listeningBaud28800, protectedStateRequest,
            dfuProtectionDescriptor
    }

    struct File: Decodable {
        struct Entry: Decodable {
            struct Range: Decodable { let from: String; let to: String? }
            let name: Capability
            let ranges: [Range]
            let platforms: [String]?
            let unconfirmed: Bool?
            let source: String
        }
        let note: String
        let capabilities: [Entry]
    }

    let ranges: [Capability: [(DeviceOSRelease, DeviceOSRelease?)]]
    /// Capabilities only some platforms have (by catalog name); absent = every platform.
    let platforms: [Capability: Set<String>]

    public static let bundled: DeviceOSCapabilities = {
        do {
            return try DeviceOSCapabilities(json: Data(PackageResources.device_os_capabilities_json))
        } catch {
            fatalError("the bundled device-os-capabilities.json is invalid: \(error)")
        }
    }()

    public init(json: Data) throws {
        let file = try JSONDecoder().decode(File.self, from: json)
        var ranges: [Capability: [(DeviceOSRelease, DeviceOSRelease?)]] = [:]
        var platforms: [Capability: Set<String>] = [:]
        for entry in file.capabilities {
            if let names = entry.platforms { platforms[entry.name] = Set(names) }
            ranges[entry.name] = try entry.ranges.map { range in
                guard let from = DeviceOSRelease(range.from) else { throw CatalogError.invalid(resource: "device-os-capabilities.json", reason: "\(entry.name): '\(range.from)' is not a release") }
                return (from, try range.to.map { text in
                    guard let to = DeviceOSRelease(text) else { throw CatalogError.invalid(resource: "device-os-capabilities.json", reason: "\(entry.name): '\(text)' is not a release") }
                    return to
                })
            }
        }
        for capability in Capability.allCases where ranges[capability] == nil {
            throw CatalogError.invalid(resource: "device-os-capabilities.json", reason: "it lacks \(capability.rawValue)")
        }
        self.ranges = ranges
        self.platforms = platforms
    }

    /// True when `release` on `platform` (catalog name, e.g. `boron`) supports `capability`.
    public func supports(_ capability: Capability, _ release: DeviceOSRelease, platform: String) -> Bool {
        supports(capability, release) && (platforms[capability].map { $0.contains(platform) } ?? true)
    }

    /// True when `release` supports `capability`.
    public func supports(_ capability: Capability, _ release: DeviceOSRelease) -> Bool {
        ranges[capability, default: []].contains { from, to in release >= from && (to.map { release <= $0 } ?? true) }
    }
}
