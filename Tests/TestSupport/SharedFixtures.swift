import Foundation

/// The shared fixtures (`../shared/fixtures` beside the checkout, or `$STATION_SHARED`).
/// A missing folder is a test failure with instructions, never a skip.
public enum SharedFixtures {
    public struct Missing: Error, CustomStringConvertible {
        public let path: String
        public var description: String {
            "The shared fixtures are missing at \(path). Tests read real module binaries from ../shared/fixtures beside the checkout (or set STATION_SHARED to the shared folder)."
        }
    }

    /// The package root, found from this source file's path.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var sharedRoot: URL {
        if let override = ProcessInfo.processInfo.environment["STATION_SHARED"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// `fixtures/modules`, checked to exist.
    public static func modulesDirectory() throws -> URL {
        let url = sharedRoot.appendingPathComponent("fixtures/modules")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Missing(path: url.path)
        }
        return url
    }

    public static func moduleBytes(_ relativePath: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: modulesDirectory().appendingPathComponent(relativePath)))
    }

    /// The entries of `EXPECTED.json`, as JSON objects.
    public static func expectedEntries() throws -> [[String: Any]] {
        let data = try Data(contentsOf: modulesDirectory().appendingPathComponent("EXPECTED.json"))
        guard let entries = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw Missing(path: "EXPECTED.json (not a JSON array of objects)")
        }
        return entries
    }
}
