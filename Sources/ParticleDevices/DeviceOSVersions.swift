import Foundation

/// The kind of module a version number belongs to: each has its own sequence.
public enum VersionedModuleKind: String, Codable, Sendable, Hashable {
    case systemPart
    case bootloader
    case radioStack
    case ncp
}

/// Module version → Device OS release, as data (`Resources/device-os-versions.json`).
///
/// Module versions are plain counters, not encoded semver: 5.9.0 is 5901 and there is no
/// 3202. Never derive a release arithmetically; look it up here.
public struct DeviceOSVersionTable: Sendable {
    public struct Entry: Codable, Sendable, Hashable {
        public let kind: VersionedModuleKind
        /// First module version of the range (inclusive).
        public let from: UInt16
        /// Last module version of the range (inclusive).
        public let to: UInt16
        public let release: String
    }

    public let entries: [Entry]

    public static let bundled: DeviceOSVersionTable = {
        do {
            return try DeviceOSVersionTable(json: Data(PackageResources.device_os_versions_json))
        } catch {
            preconditionFailure("the bundled Device OS version table does not decode: \(error)")
        }
    }()

    public init(json: Data) throws(CatalogError) {
        struct File: Codable { let source: String; let entries: [Entry] }
        do {
            entries = try StrictJSON.decode(File.self, from: json).entries
        } catch {
            throw .invalid(resource: "device-os-versions.json", reason: error.reason)
        }
        for entry in entries where entry.from > entry.to {
            throw .invalid(resource: "device-os-versions.json", reason: "range \(entry.from)-\(entry.to) is reversed")
        }
    }

    /// The release a module version belongs to, or nil when the table does not know it.
    public func release(for version: UInt16, kind: VersionedModuleKind) -> String? {
        entries.first { $0.kind == kind && $0.from <= version && version <= $0.to }?.release
    }

    /// The system-part module version of a release (exact single-version entries only).
    public func systemModuleVersion(forRelease release: String) -> UInt16? {
        entries.first { $0.kind == .systemPart && $0.from == $0.to && $0.release == release }?.from
    }
}
