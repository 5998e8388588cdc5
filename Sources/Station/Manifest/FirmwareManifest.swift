import DFU
import FirmwareModules
import ParticleDevices
import StationConfig

/// Why a manifest cannot be used. The station refuses to start with one.
public struct ManifestError: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: String
    public let file: String?
    public let message: String

    public var description: String { (file.map { "\($0): " } ?? "") + message }
}

/// A manifest whose files are all present, unaltered and consistent: the modules a line
/// flashes, checked as the image a device will hold (platform, dependencies, product).
public struct FirmwareManifest: Sendable {
    public let file: FirmwareManifestFile
    public let platform: Platform
    public let modules: [PlannedModule]
    /// The application that carries the product ID and version.
    public let productFirmware: PlannedModule

    /// Checks `file` against the bytes of its module files (`contents[name]`, nil when the
    /// file is missing); throws the first problem.
    public static func check(_ file: FirmwareManifestFile, contents: [String: [UInt8]?], catalog: PlatformCatalog = .bundled,
                             versions: DeviceOSVersionTable = .bundled) throws(ManifestError) -> FirmwareManifest {
        switch examine(file, contents: contents, catalog: catalog, versions: versions) {
        case .success(let manifest): return manifest
        case .failure(let problems): throw problems.all[0]
        }
    }

    /// Every problem of a manifest at once (`station manifest verify`), not only the first.
    public struct Problems: Error, Hashable, Sendable {
        public let all: [ManifestError]
    }

    /// The manifest, or every problem found: each file missing, altered or not a module;
    /// then, when every file could be read, each inconsistency of the image they make.
    public static func examine(_ file: FirmwareManifestFile, contents: [String: [UInt8]?], catalog: PlatformCatalog = .bundled,
                               versions: DeviceOSVersionTable = .bundled) -> Result<FirmwareManifest, Problems> {
        var problems: [ManifestError] = []
        let platform = catalog.platform(named: file.platform).flatMap { $0.isProvisionable ? $0 : nil }
        if platform == nil {
            problems.append(ManifestError(code: "MANIFEST-PLATFORM", file: nil,
                                          message: "platform '\(file.platform)' is not one the station provisions (\(catalog.provisionable.map(\.name).joined(separator: ", ")))"))
        }
        var modules: [PlannedModule] = []
        for entry in file.modules {
            guard let found = contents[entry.file], let bytes = found else {
                problems.append(ManifestError(code: "MANIFEST-FILE-MISSING", file: entry.file,
                                              message: "the file is missing. Restore it from the firmware release, or make a new manifest with `station manifest create`"))
                continue
            }
            let digest = FileDigest.sha256(bytes)
            guard digest == entry.sha256 else {
                problems.append(ManifestError(code: "MANIFEST-FILE-ALTERED", file: entry.file,
                                              message: "the file is not the one the manifest pins (SHA-256 \(digest), manifest says \(entry.sha256)). Restore the released file; do not edit the manifest to match"))
                continue
            }
            do {
                modules.append(PlannedModule(name: entry.file, module: try FirmwareModule(bytes: bytes)))
            } catch {
                problems.append(ManifestError(code: "MANIFEST-NOT-A-MODULE", file: entry.file, message: "not a Device OS module: \(error.description)"))
            }
        }
        guard problems.isEmpty, let platform else { return .failure(Problems(all: problems)) }
        return consistent(file, platform: platform, modules: modules, versions: versions)
    }

    static func consistent(_ file: FirmwareManifestFile, platform: Platform, modules: [PlannedModule], versions: DeviceOSVersionTable,
                           rules: DeviceProtectionRules = .bundled) -> Result<FirmwareManifest, Problems> {
        var problems: [ManifestError] = []
        for item in modules where item.module.header.platformID != platform.id.rawValue {
            problems.append(ManifestError(code: "MANIFEST-WRONG-PLATFORM", file: item.name,
                                          message: "built for platform \(item.module.header.platformID), but the manifest is for \(platform.name) (\(platform.id))"))
        }
        let applications = modules.filter { $0.module.header.function == .userPart }
        if applications.count != 1 {
            problems.append(ManifestError(code: "MANIFEST-PRODUCT", file: nil,
                                          message: "a manifest holds exactly one product firmware (application module); this one has \(applications.count)"))
        }
        if let application = applications.first,
           Int(application.module.productID ?? 0) != file.productID || Int(application.module.productVersion ?? 0) != file.productVersion {
            problems.append(ManifestError(code: "MANIFEST-PRODUCT", file: application.name,
                                          message: "the product firmware is product \(application.module.productID.map(String.init) ?? "none") version \(application.module.productVersion.map(String.init) ?? "none"), but the manifest says product \(file.productID) version \(file.productVersion)"))
        }
        if let system = modules.first(where: { $0.module.header.function == .systemPart }) {
            let release = versions.release(for: system.module.header.version, kind: .systemPart)
            if release != file.deviceOS {
                problems.append(ManifestError(code: "MANIFEST-DEVICE-OS", file: system.name,
                                              message: "system part version \(system.module.header.version) is Device OS \(release ?? "unknown"), but the manifest says \(file.deviceOS)"))
            }
        }
        problems += protectionProblems(file, platform: platform, modules: modules, rules: rules)
        // The image a blank device (bootloader only) would hold once everything is flashed:
        // every dependency must be met inside the manifest.
        guard let layout = platform.catalogLayout else {
            problems.append(ManifestError(code: "MANIFEST-PLATFORM", file: nil, message: "the catalog has no DFU memory layout for \(platform.name)"))
            return .failure(Problems(all: problems))
        }
        if problems.isEmpty {
            do {
                _ = try FlashPlanner.plan(modules, platform: platform, layout: layout, installed: [], expectedProductID: UInt16(file.productID))
            } catch {
                problems.append(ManifestError(code: "MANIFEST-INCONSISTENT", file: nil, message: "\(error.description.replacingOccurrences(of: " Nothing was written.", with: "").replacingOccurrences(of: "; nothing was written.", with: "."))"))
            }
        }
        guard problems.isEmpty, let application = applications.first else { return .failure(Problems(all: problems)) }
        return .success(FirmwareManifest(file: file, platform: platform, modules: modules, productFirmware: application))
    }

    /// Device Protection (`MANIFEST-PROTECTION`): a protected product's system part and (on
    /// the platforms the rules name) bootloader must be at least the protected minimums, and
    /// its bootloader the protected variant (SECURITY_MODE, mode 1) where the rules say; a
    /// product without protection must not carry a protected bootloader (flashing it would
    /// protect every unit the line makes). Only what the manifest holds is checked: a module
    /// it leaves out stays as the device has it.
    static func protectionProblems(_ file: FirmwareManifestFile, platform: Platform, modules: [PlannedModule], rules: DeviceProtectionRules) -> [ManifestError] {
        var problems: [ManifestError] = []
        func problem(_ item: PlannedModule, _ message: String) {
            problems.append(ManifestError(code: "MANIFEST-PROTECTION", file: item.name, message: message))
        }
        let bootloaders = modules.filter { $0.module.header.function == .bootloader && $0.module.header.index == 0 }
        guard file.deviceProtection else {
            for item in bootloaders where item.module.securityMode == 1 {
                problem(item, "the bootloader is the protected variant (SECURITY_MODE extension), but the manifest's product has no Device Protection: every unit flashed would become protected. Use the open bootloader, or set [product] device_protection = true for a protected product")
            }
            return problems
        }
        for item in modules where item.module.header.function == .systemPart && item.module.header.version < rules.minimumSystemPart {
            problem(item, "a protected product needs Device OS \(rules.minimumDeviceOS) or later (system part \(rules.minimumSystemPart)); this system part is version \(item.module.header.version). Use a \(rules.minimumDeviceOS)+ release")
        }
        for item in bootloaders {
            if rules.bootloaderMinimumPlatforms.contains(platform.name), item.module.header.version < rules.minimumBootloader {
                problem(item, "a protected product needs bootloader \(rules.minimumBootloader) or later (Device OS \(rules.minimumDeviceOS)); this bootloader is version \(item.module.header.version). Use the bootloader of a \(rules.minimumDeviceOS)+ release")
            }
            if rules.needsProtectedBootloader(platform: platform.name), item.module.securityMode != 1 {
                problem(item, "a protected product's bootloader must be the protected variant (SECURITY_MODE extension, mode 1); this one is the open bootloader. Use the release's protected bootloader")
            }
        }
        return problems
    }

    /// The station's own product and platforms must match the manifest's.
    public func check(stationProductID: Int, platforms: [String]?) throws(ManifestError) {
        guard file.productID == stationProductID else {
            throw ManifestError(code: "MANIFEST-STATION-MISMATCH", file: nil,
                                message: "the manifest is for product \(file.productID), but this station makes product \(stationProductID). Use this line's manifest")
        }
        if let platforms, !platforms.contains(platform.name) {
            throw ManifestError(code: "MANIFEST-STATION-MISMATCH", file: nil,
                                message: "the manifest is for \(platform.name), but this station provisions \(platforms.joined(separator: ", "))")
        }
    }

    /// Makes a manifest from module files (`station manifest create`): platform, Device OS
    /// and product from the modules themselves, each file pinned by SHA-256, then checked
    /// like any manifest.
    public static func create(name: String, files: [(name: String, bytes: [UInt8])], deviceProtection: Bool = false, catalog: PlatformCatalog = .bundled,
                              versions: DeviceOSVersionTable = .bundled) throws(ManifestError) -> FirmwareManifest {
        var modules: [PlannedModule] = []
        for item in files.sorted(by: { $0.name < $1.name }) {
            do { modules.append(PlannedModule(name: item.name, module: try FirmwareModule(bytes: item.bytes))) } catch {
                throw ManifestError(code: "MANIFEST-NOT-A-MODULE", file: item.name, message: "not a Device OS module: \(error.description). Remove it from the folder")
            }
        }
        let platformIDs = Set(modules.map(\.module.header.platformID))
        guard platformIDs.count == 1, let id = platformIDs.first, let platform = catalog.platform(id: PlatformID(id)), platform.isProvisionable else {
            throw ManifestError(code: "MANIFEST-WRONG-PLATFORM", file: nil,
                                message: platformIDs.count == 1 ? "the modules are for platform \(platformIDs.first!), which the station does not provision"
                                    : "the modules are for several platforms (\(platformIDs.sorted().map(String.init).joined(separator: ", "))); one manifest per platform")
        }
        let application = modules.first { $0.module.header.function == .userPart }
        let system = modules.first { $0.module.header.function == .systemPart }
        let deviceOS = system.flatMap { versions.release(for: $0.module.header.version, kind: .systemPart) } ?? "unknown"
        let file = FirmwareManifestFile(
            name: name, platform: platform.name, deviceOS: deviceOS, productID: Int(application?.module.productID ?? 0),
            productVersion: Int(application?.module.productVersion ?? 0), deviceProtection: deviceProtection,
            modules: files.sorted(by: { $0.name < $1.name }).map { .init(file: $0.name, sha256: FileDigest.sha256($0.bytes)) })
        switch consistent(file, platform: platform, modules: modules, versions: versions) {
        case .success(let manifest): return manifest
        case .failure(let problems): throw problems.all[0]
        }
    }
}
