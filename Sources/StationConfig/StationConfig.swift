import Foundation
import ParticleDevices
import Seams

/// A station's configuration file (`stations/NAME.toml`), cloud part: who the station is,
/// the product it feeds, how it talks to the cloud, when it falls back to the test account,
/// and where its store lives. Parsed from text (no I/O here); every mistake is a
/// `ConfigFileError` naming the file, the key and the fix.
public struct StationConfig: Sendable, Hashable {
    public struct Station: Sendable, Hashable {
        /// Names the store and every log line: letters, digits, `-`, `_`.
        public var id: String
        public var line: String?
    }

    public enum ProductRef: Sendable, Hashable, CustomStringConvertible {
        case id(Int)
        case slug(String)
        /// The path segment: `/v1/products/<this>/...`.
        public var description: String {
            switch self {
            case .id(let id): String(id)
            case .slug(let slug): slug
            }
        }
    }

    public struct Product: Sendable, Hashable {
        public var product: ProductRef
        public var platform: Platform
        /// The SKUs made on this line (e.g. BRN404X); empty: any SKU of the platform.
        public var skus: [String]
        /// On a free plan the account holds at most 100 devices: the station counts the
        /// product's devices before importing and routes what does not fit to the fallback.
        public var freePlan: Bool
    }

    public struct Cloud: Sendable, Hashable {
        public var apiBaseURL: URL
        /// Relative paths are relative to the config file's folder.
        public var credentialsFile: String
        /// Device IDs per import request.
        public var batchSize: Int
        /// Also import (and so activate) each device's SIM.
        public var importSIMs: Bool
        /// Name each device after its sticker serial number.
        public var nameFromSerial: Bool
        /// A device group for the shipment, e.g. `20261127_500`.
        public var shipmentGroup: String?
    }

    public struct Fallback: Sendable, Hashable {
        public enum Policy: String, Sendable, Hashable, CaseIterable {
            /// Devices the product refuses wait in the queue with the reason.
            case off
            /// Devices the product refuses for good go to the test account.
            case onRefusal = "on-refusal"
            /// Every device goes to the test account first (end-to-end connectivity lines).
            case always
        }
        public var policy: Policy
        /// Import-result arrays that mean "the product will not take this device, whatever
        /// the retry" (data, so a wrong guess is a config change).
        public var permanentRefusals: [String]

        public init(policy: Policy, permanentRefusals: [String] = StationConfig.defaultPermanentRefusals) {
            self.policy = policy
            self.permanentRefusals = permanentRefusals
        }
    }

    public var station: Station
    public var product: Product
    public var cloud: Cloud
    public var fallback: Fallback
    /// Nil: the default, `$XDG_STATE_HOME/station/<station id>/station.sqlite`.
    public var storePath: String?
    /// `[store] group`: the store, the event log and reports are 0640 and readable by this
    /// group; nil: owner-only (0600).
    public var storeGroup: String? = nil
    /// `[line]`: the line database the station replicates into (nil: none; the station
    /// keeps its records to itself).
    public var line: LineConfig? = nil

    public static let defaultAPIBaseURL = URL(string: "https://api.particle.io")!
    /// Devices a free account may hold (particle-cloud-and-factory.md section 2).
    public static let freePlanDeviceLimit = 100
    public static let defaultPermanentRefusals = ["invalidDeviceIds", "nonmemberDeviceIds", "protectedDeviceIds"]
    /// The keys of the cloud part; the station-agent issue adds the bench part's.
    public static let sections = ["station", "product", "cloud", "fallback", "store", "line"]

    /// Parses the cloud part of a station config. `extraSections` are left to other readers.
    public static func parse(_ text: String, file: String, extraSections: [String] = [], catalog: PlatformCatalog = .bundled) throws(ConfigFileError) -> StationConfig {
        let root = try TOMLFields(try TOMLFields.parse(text, file: file), path: "", file: file, allowed: sections + extraSections)
        func required(_ name: String, _ allowed: [String]) throws(ConfigFileError) -> TOMLFields {
            guard let table = try root.table(name, allowed: allowed) else {
                throw ConfigFileError(file: file, key: name, problem: "missing; add a [\(name)] table (see stations/README.md).")
            }
            return table
        }

        let stationTable = try required("station", ["id", "line"])
        guard let id = try stationTable.string("id") else { throw stationTable.fail("id", "missing; name the station, e.g. id = \"line1-bench3\".") }
        guard !id.isEmpty, id.count <= 64, id.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "-" || $0 == "_" }) else {
            throw stationTable.fail("id", "'\(id)' must be 1 to 64 ASCII letters, digits, '-' or '_' (it names the store's folder).")
        }
        let station = Station(id: id, line: try stationTable.string("line"))

        let productTable = try required("product", ["id", "slug", "platform", "skus", "free_plan"])
        let productID = try productTable.int("id")
        let slug = try productTable.string("slug")
        let product: ProductRef
        switch (productID, slug) {
        case (let id?, nil):
            guard id > 0 else { throw productTable.fail("id", "\(id) is not a product ID; use the number from the console's product page.") }
            product = .id(id)
        case (nil, let slug?):
            guard !slug.isEmpty, slug.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) else {
                throw productTable.fail("slug", "'\(slug)' is not a product slug (lowercase letters, digits and '-', e.g. my-product-v1).")
            }
            product = .slug(slug)
        case (.some, .some):
            throw productTable.fail("id", "give the product ID or its slug, not both.")
        case (nil, nil):
            throw productTable.fail("id", "missing; give the product ID (id = 12345) or its slug (slug = \"my-product\").")
        }
        guard let platformName = try productTable.string("platform") else {
            throw productTable.fail("platform", "missing; name the product's platform, e.g. platform = \"boron\".")
        }
        guard let platform = catalog.platform(named: platformName), platform.isProvisionable else {
            let names = catalog.provisionable.map(\.name).joined(separator: ", ")
            throw productTable.fail("platform", "'\(platformName)' is not a platform the station provisions; use one of: \(names).")
        }
        let skus = try productTable.strings("skus") ?? []
        let known = Set((platform.skus ?? []).map(\.name))
        for (index, sku) in skus.enumerated() where !known.contains(sku.uppercased()) {
            throw productTable.fail("skus[\(index + 1)]", "'\(sku)' is not a \(platform.displayName) SKU; known: \(known.sorted().joined(separator: ", ")).")
        }

        let cloudTable = try required("cloud", ["api_base_url", "credentials_file", "batch_size", "import_sims", "name_from_serial", "shipment_group"])
        let urlText = try cloudTable.string("api_base_url") ?? defaultAPIBaseURL.absoluteString
        guard let url = URL(string: urlText), let scheme = url.scheme, let host = url.host, url.query == nil else {
            throw cloudTable.fail("api_base_url", "'\(urlText)' is not a URL; use https://api.particle.io.")
        }
        let loopback = Loopback.isLoopbackHost(host)
        guard scheme == "https" || (scheme == "http" && loopback) else {
            throw cloudTable.fail("api_base_url", "'\(urlText)': the cloud is reached over https only (plain http only to a loopback address, for tests).")
        }
        guard let credentials = try cloudTable.string("credentials_file"), !credentials.isEmpty else {
            throw cloudTable.fail("credentials_file", "missing; point it at the credentials TOML (product_token = \"...\"), readable by its owner only.")
        }
        let batch = try cloudTable.int("batch_size") ?? 50
        guard (1...1000).contains(batch) else { throw cloudTable.fail("batch_size", "\(batch) is out of range; use 1 to 1000 device IDs per request.") }
        let group = try cloudTable.string("shipment_group")
        if let group, group.isEmpty || !group.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") }) {
            throw cloudTable.fail("shipment_group", "'\(group)' is not a group name: lowercase letters, digits, '_' and '-' (e.g. 20261127_500).")
        }
        let cloud = Cloud(apiBaseURL: url, credentialsFile: credentials, batchSize: batch, importSIMs: try cloudTable.bool("import_sims") ?? true,
                          nameFromSerial: try cloudTable.bool("name_from_serial") ?? false, shipmentGroup: group)

        var fallback = Fallback(policy: .off, permanentRefusals: defaultPermanentRefusals)
        if let table = try root.table("fallback", allowed: ["policy", "permanent_refusals"]) {
            if let text = try table.string("policy") {
                guard let policy = Fallback.Policy(rawValue: text) else {
                    throw table.fail("policy", "'\(text)' is not a policy; use off, on-refusal or always.")
                }
                fallback.policy = policy
            }
            if let refusals = try table.strings("permanent_refusals") {
                for (index, name) in refusals.enumerated() where !(name.hasSuffix("DeviceIds") && name.first?.isLowercase == true) {
                    throw table.fail("permanent_refusals[\(index + 1)]", "'\(name)' is not an import-result array name (like invalidDeviceIds).")
                }
                fallback.permanentRefusals = refusals
            }
        }
        let storeTable = try root.table("store", allowed: ["path", "group"])
        var config = StationConfig(station: station, product: Product(product: product, platform: platform, skus: skus.map { $0.uppercased() },
                                                                      freePlan: try productTable.bool("free_plan") ?? false),
                                   cloud: cloud, fallback: fallback, storePath: try storeTable?.string("path"))
        if let storeTable, let group = try storeTable.string("group") {
            guard !group.isEmpty, group.count <= 32, group.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }), group.first != "-" else {
                throw storeTable.fail("group", "'\(group)' is not a group name (letters, digits, '-', '_', '.'; at most 32).")
            }
            config.storeGroup = group
        }
        if let lineTable = try root.table("line", allowed: ["database", "password_file"]) {
            config.line = try LineConfig.parse(lineTable)
        }
        return config
    }

    /// Where the store lives: the configured path, or the documented default under
    /// `$XDG_STATE_HOME` (`~/.local/state` when unset).
    public func storeLocation(environment: [String: String]) -> String {
        if let storePath { return storePath }
        let state = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ((environment["HOME"] ?? "/root") + "/.local/state")
        return "\(state)/station/\(station.id)/station.sqlite"
    }
}
