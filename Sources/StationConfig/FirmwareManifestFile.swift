import TextFormats

/// A firmware manifest as written (`firmware-manifests/*.toml`): what a line flashes, pinned by
/// SHA-256. Reading is strict (unknown keys are errors); checking the files against it is
/// `Station.FirmwareManifest`.
///
/// ```toml
/// [manifest]
/// name = "boron-production"
/// platform = "boron"
/// device_os = "6.2.0"
///
/// [product]
/// id = 12345
/// version = 7
/// device_protection = true   # optional: the product has Device Protection
///
/// [[module]]
/// file = "boron-system-part1@6.2.0.bin"   # relative to the manifest's folder
/// sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
/// ```
public struct FirmwareManifestFile: Hashable, Sendable {
    public struct Module: Hashable, Sendable {
        public var file: String
        public var sha256: String
        public init(file: String, sha256: String) {
            self.file = file
            self.sha256 = sha256
        }
    }

    public var name: String
    public var platform: String
    public var deviceOS: String
    public var productID: Int
    public var productVersion: Int
    /// The product has Device Protection (`[product] device_protection`): its firmware must
    /// meet the protected minimums and carry the protected bootloader.
    public var deviceProtection: Bool
    public var modules: [Module]

    public init(name: String, platform: String, deviceOS: String, productID: Int, productVersion: Int, deviceProtection: Bool = false, modules: [Module]) {
        self.name = name
        self.platform = platform
        self.deviceOS = deviceOS
        self.productID = productID
        self.productVersion = productVersion
        self.deviceProtection = deviceProtection
        self.modules = modules
    }

    public static func parse(_ text: String, file: String) throws(ConfigFileError) -> FirmwareManifestFile {
        let root = try TOMLFields(try TOMLFields.parse(text, file: file), path: "", file: file, allowed: ["manifest", "product", "module"])
        guard let head = try root.table("manifest", allowed: ["name", "platform", "device_os"]) else {
            throw ConfigFileError(file: file, key: "manifest", problem: "missing; add a [manifest] table with name, platform and device_os.")
        }
        guard let product = try root.table("product", allowed: ["id", "version", "device_protection"]) else {
            throw ConfigFileError(file: file, key: "product", problem: "missing; add a [product] table with the product ID and firmware version.")
        }
        func required(_ fields: TOMLFields, _ key: String, _ example: String) throws(ConfigFileError) -> String {
            guard let value = try fields.string(key), !value.isEmpty else { throw fields.fail(key, "missing; e.g. \(key) = \"\(example)\".") }
            return value
        }
        func number(_ fields: TOMLFields, _ key: String) throws(ConfigFileError) -> Int {
            guard let value = try fields.int(key) else { throw fields.fail(key, "missing; the product's \(key), a whole number.") }
            guard (1...0xFFFE).contains(value) else { throw fields.fail(key, "\(value) is out of range; product IDs and versions are 1 to 65534.") }
            return value
        }
        var modules: [Module] = []
        for (index, table) in (try root.tables("module") ?? []).enumerated() {
            let fields = try TOMLFields(table, path: "module[\(index + 1)]", file: file, allowed: ["file", "sha256"])
            let name = try required(fields, "file", "boron-system-part1@6.2.0.bin")
            let digest = try required(fields, "sha256", String(repeating: "0", count: 64)).lowercased()
            guard digest.count == 64, digest.allSatisfy(\.isHexDigit) else {
                throw fields.fail("sha256", "expected 64 hex digits (what `sha256sum FILE` prints); `station manifest create` writes them.")
            }
            modules.append(Module(file: name, sha256: digest))
        }
        guard !modules.isEmpty else {
            throw ConfigFileError(file: file, key: "module", problem: "no modules; add a [[module]] table per file (`station manifest create DIR` writes them).")
        }
        return FirmwareManifestFile(name: try required(head, "name", "boron-production"), platform: try required(head, "platform", "boron"),
                                    deviceOS: try required(head, "device_os", "6.2.0"), productID: try number(product, "id"),
                                    productVersion: try number(product, "version"), deviceProtection: try product.bool("device_protection") ?? false,
                                    modules: modules)
    }

    /// The manifest as TOML, in the layout `parse` reads.
    public var toml: String {
        let quoted = TOMLWriter.quoted
        var lines = [
            "# Firmware manifest: every file is pinned by its SHA-256; `station manifest verify` re-checks them.",
            "[manifest]", "name = \(quoted(name))", "platform = \(quoted(platform))", "device_os = \(quoted(deviceOS))", "",
            "[product]", "id = \(productID)", "version = \(productVersion)",
        ] + (deviceProtection ? ["device_protection = true"] : [])
        for module in modules {
            lines += ["", "[[module]]", "file = \(quoted(module.file))", "sha256 = \(quoted(module.sha256))"]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
