import ParticleDevices

/// The bench part of a station config (`[bench]`, `[scanner]`): the firmware manifest, the
/// slots, the barcode scanner, how stickers pair with devices, where devices are left, and
/// operator sign-in. Read strictly, like the rest of the file; `StationConfig.parse` reads the
/// other sections of the same file.
public struct BenchConfig: Sendable, Hashable {
    public struct Slot: Sendable, Hashable {
        public var name: String
        /// The USB port path the slot's cable ends in (`1-1.3`), as `station devices` shows it.
        public var port: String
        public init(name: String, port: String) {
            self.name = name
            self.port = port
        }
    }

    public enum Scanner: Sendable, Hashable {
        /// A keyboard-wedge scanner typing into the station's terminal (standard input).
        case keyboardWedge
        /// A keyboard-wedge scanner read from its evdev device (matched by USB VID:PID) and
        /// grabbed, so scans do not leak into the terminal.
        case evdev(vendorID: UInt16, productID: UInt16)
        /// A USB-serial (CDC ACM) scanner: a tty path, or matched by VID:PID.
        case serial(path: String?, vendorID: UInt16?, productID: UInt16?, baud: Int)
        /// No scanner (pairing `none`).
        case none
    }

    /// What a scanner is set to add before and after each code (`[scanner] prefix` and
    /// `suffix`), removed before the sticker is parsed.
    public struct Affixes: Sendable, Hashable {
        public var prefix: String
        public var suffix: String
        public init(prefix: String = "", suffix: String = "") {
            self.prefix = prefix
            self.suffix = suffix
        }
    }

    // The pairing key and the final state are the pipeline's own enums
    // (`ParticleDevices.PairingKey`, `ParticleDevices.FinalState`): the config names them,
    // nothing maps one onto another.

    /// Another product made on the same bench: its platform, product ID and manifest
    /// (`[[bench.product]]`). A Particle product is one platform, so a bench serving several
    /// platforms serves several products.
    public struct ExtraProduct: Sendable, Hashable {
        public var platform: String
        public var productID: Int
        public var manifest: String
        public init(platform: String, productID: Int, manifest: String) {
            self.platform = platform
            self.productID = productID
            self.manifest = manifest
        }
    }

    /// The manifest file, as written (relative paths are relative to the config file).
    public var manifest: String
    /// Products besides the station's `[product]`, each with its own platform and manifest.
    public var extraProducts: [ExtraProduct] = []
    /// Fixed slots, or nil: slots are assigned as devices arrive, one per USB port.
    public var slots: [Slot]?
    /// The first scanner (most benches have one).
    public var scanner: Scanner { scanners.first ?? .none }
    /// Every scanner the station reads (`[scanner]`, or several `[[scanner]]` tables).
    public var scanners: [Scanner]
    /// Each scanner's prefix and suffix, in the order of `scanners`.
    public var scannerAffixes: [Affixes] = []
    public var pairing: PairingKey
    public var scanRequired: Bool
    public var finalState: FinalState
    /// Per platform (catalog name) where it differs.
    public var finalStates: [String: FinalState]
    /// An end-to-end connectivity line: devices connect under the test account.
    public var connectivityTest: Bool
    /// Flash units in Service Mode (Device Protection, opened for rework by the cloud); a
    /// protected unit is never flashed. Off by default: such units go to the rework bench.
    public var allowServiceMode: Bool = false
    public var operatorSignIn: Bool
    /// Names allowed to sign in (empty: anyone who types a name).
    public var operators: [String]

    public static let sections = ["bench", "scanner"]

    /// Battery-powered SKUs keep running when unplugged, so listening mode would last only
    /// until their next reset; DFU mode (no firmware runs) is their default final state.
    public static let batteryPlatforms: Set<String> = ["tracker"]

    public static func parse(_ text: String, file: String, station: StationConfig, catalog: PlatformCatalog = .bundled) throws(ConfigFileError) -> BenchConfig {
        let root = try TOMLFields(try TOMLFields.parse(text, file: file), path: "", file: file, allowed: StationConfig.sections + sections)
        guard let bench = try root.table("bench", allowed: ["manifest", "product", "slots", "slot", "pairing", "scan_required", "final_state", "final_state_by_platform",
                                                           "connectivity_test", "allow_service_mode", "operator_sign_in", "operators"]) else {
            throw ConfigFileError(file: file, key: "bench", problem: "missing; add a [bench] table with at least manifest = \"path/to/manifest.toml\" (stations/README.md).")
        }
        guard let manifest = try bench.string("manifest"), !manifest.isEmpty else {
            throw bench.fail("manifest", "missing; point it at the line's firmware manifest (`station manifest create` writes one).")
        }
        var slots: [Slot]?
        if let mode = try bench.string("slots") {
            guard mode == "auto" else { throw bench.fail("slots", "'\(mode)': use \"auto\", or list [[bench.slot]] tables with name and port.") }
        }
        if let tables = try bench.tables("slot") {
            if try bench.string("slots") != nil { throw bench.fail("slots", "give slots = \"auto\" or [[bench.slot]] tables, not both.") }
            var list: [Slot] = []
            for (index, table) in tables.enumerated() {
                let fields = try TOMLFields(table, path: "bench.slot[\(index + 1)]", file: file, allowed: ["name", "port"])
                guard let name = try fields.string("name"), !name.isEmpty else { throw fields.fail("name", "missing; e.g. name = \"A1\".") }
                guard let port = try fields.string("port"), isPortPath(port) else {
                    throw fields.fail("port", "missing or not a USB port path; use what `station devices` shows, e.g. port = \"1-1.3\".")
                }
                if list.contains(where: { $0.name == name }) { throw fields.fail("name", "'\(name)' is used by another slot.") }
                if list.contains(where: { $0.port == port }) { throw fields.fail("port", "\(port) is used by another slot.") }
                list.append(Slot(name: name, port: port))
            }
            slots = list
        }
        let pairingText = try bench.string("pairing") ?? "serial"
        guard let pairing = PairingKey(rawValue: pairingText) else {
            throw bench.fail("pairing", "'\(pairingText)': use serial (the sticker's serial number), imei (older Electron and E-Series stickers) or none.")
        }
        func state(_ text: String, key: String) throws(ConfigFileError) -> FinalState {
            guard let value = FinalState(rawValue: text) else {
                throw bench.fail(key, "'\(text)': use listening or dfu; a device must never leave the bench able to connect.")
            }
            return value
        }
        let finalState = try state(try bench.string("final_state") ?? "listening", key: "final_state")
        var finalStates: [String: FinalState] = [:]
        for name in batteryPlatforms { finalStates[name] = .dfu }
        if let table = try bench.table("final_state_by_platform", allowed: catalog.provisionable.map(\.name)) {
            for name in table.table.keys {
                guard let text = try table.string(name) else { continue }
                finalStates[name] = try state(text, key: "final_state_by_platform.\(name)")
            }
        }
        let connectivity = try bench.bool("connectivity_test") ?? false
        if connectivity, station.fallback.policy != .always {
            throw bench.fail("connectivity_test", "a connectivity line needs [fallback] policy = \"always\": each device goes into the test account's product before it may connect.")
        }
        let scanRequired = try bench.bool("scan_required") ?? (pairing != .none)
        if pairing == .none && scanRequired { throw bench.fail("scan_required", "pairing = \"none\" scans nothing; remove scan_required or choose a pairing key.") }

        var scanners: [Scanner] = []
        var scannerTables: [TOMLFields] = []
        if root.table["scanner"]?.array != nil {
            for (index, table) in (try root.tables("scanner") ?? []).enumerated() {
                scannerTables.append(try TOMLFields(table, path: "scanner[\(index + 1)]", file: file, allowed: ["kind", "device", "path", "baud", "prefix", "suffix"]))
            }
        } else if let table = try root.table("scanner", allowed: ["kind", "device", "path", "baud", "prefix", "suffix"]) {
            scannerTables.append(table)
        }
        var affixes: [Affixes] = []
        for table in scannerTables {
            let kind = try table.string("kind") ?? "keyboard-wedge"
            let prefix = try table.string("prefix") ?? "", suffix = try table.string("suffix") ?? ""
            for (key, value) in [("prefix", prefix), ("suffix", suffix)] where value.count > 16 || value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                throw table.fail(key, "'\(value)' is not what a scanner adds: at most 16 printable characters (CR, LF and tabs are removed anyway).")
            }
            affixes.append(Affixes(prefix: prefix, suffix: suffix))
            let device = try table.string("device")
            let ids = try device.map { text throws(ConfigFileError) -> (UInt16, UInt16) in
                guard let parsed = vidPID(text) else { throw table.fail("device", "'\(text)' is not VID:PID in hex, e.g. device = \"0c2e:0b61\" (`lsusb` shows it).") }
                return parsed
            }
            switch kind {
            case "keyboard-wedge": scanners.append(.keyboardWedge)
            case "evdev":
                guard let ids else { throw table.fail("device", "missing; an evdev scanner is matched by its USB VID:PID, e.g. device = \"0c2e:0b61\".") }
                scanners.append(.evdev(vendorID: ids.0, productID: ids.1))
            case "serial":
                let path = try table.string("path")
                guard path != nil || ids != nil else { throw table.fail("path", "missing; give the scanner's tty (path = \"/dev/ttyACM5\") or its VID:PID (device = \"...\").") }
                let baud = try table.int("baud") ?? 9600
                guard [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200].contains(baud) else { throw table.fail("baud", "\(baud) is not a scanner baud rate; most use 9600 or 115200.") }
                scanners.append(.serial(path: path, vendorID: ids?.0, productID: ids?.1, baud: baud))
            case "none": scanners.append(.none)
            default: throw table.fail("kind", "'\(kind)': use keyboard-wedge, evdev, serial or none.")
            }
        }
        if scanners.isEmpty {
            scanners = [.keyboardWedge]
            affixes = [Affixes()]
        }
        let scanner = scanners[0]
        if scanner == .none && pairing != .none { throw ConfigFileError(file: file, key: "scanner.kind", problem: "pairing needs a scanner; set [bench] pairing = \"none\" or choose a scanner kind.") }

        var extras: [ExtraProduct] = []
        for (index, table) in (try bench.tables("product") ?? []).enumerated() {
            let fields = try TOMLFields(table, path: "bench.product[\(index + 1)]", file: file, allowed: ["platform", "id", "manifest"])
            guard let name = try fields.string("platform"), let platform = catalog.platform(named: name), platform.isProvisionable else {
                throw fields.fail("platform", "missing or not a platform the station provisions (\(catalog.provisionable.map(\.name).joined(separator: ", "))).")
            }
            guard name != station.product.platform.name, !extras.contains(where: { $0.platform == name }) else {
                throw fields.fail("platform", "\(name) already has its product on this bench; one product per platform.")
            }
            guard let id = try fields.int("id"), id > 0 else { throw fields.fail("id", "missing; the product's ID, a whole number.") }
            guard let path = try fields.string("manifest"), !path.isEmpty else { throw fields.fail("manifest", "missing; the product's firmware manifest.") }
            extras.append(ExtraProduct(platform: name, productID: id, manifest: path))
        }
        let operators = try bench.strings("operators") ?? []
        var config = BenchConfig(manifest: manifest, extraProducts: extras, slots: slots, scanners: scanners, scannerAffixes: affixes, pairing: pairing, scanRequired: scanRequired,
                           finalState: finalState, finalStates: finalStates, connectivityTest: connectivity,
                           operatorSignIn: try bench.bool("operator_sign_in") ?? !operators.isEmpty, operators: operators)
        config.allowServiceMode = try bench.bool("allow_service_mode") ?? false
        return config
    }

    static func isPortPath(_ text: String) -> Bool {
        let parts = text.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, Int(parts[0]) != nil else { return false }
        return parts[1].split(separator: ".", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && Int($0) != nil }
    }

    static func vidPID(_ text: String) -> (UInt16, UInt16)? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts.allSatisfy({ $0.count == 4 }), let vid = UInt16(parts[0], radix: 16), let pid = UInt16(parts[1], radix: 16) else { return nil }
        return (vid, pid)
    }

    /// The prefix and suffix of a scanner (the first of its kind).
    public func affixes(of scanner: Scanner) -> Affixes {
        scanners.firstIndex(of: scanner).flatMap { $0 < scannerAffixes.count ? scannerAffixes[$0] : nil } ?? Affixes()
    }

    /// The slot name for a port (fixed slots), or the port itself.
    public func slotName(port: String) -> String { slots?.first { $0.port == port }?.name ?? port }
}
