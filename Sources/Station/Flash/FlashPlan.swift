import FirmwareModules
import ParticleDevices

/// A module (or housekeeping write) in the order it is flashed.
public struct FlashStep: Hashable, Sendable {
    public enum Path: Hashable, Sendable {
        /// DfuSe, alt setting 0.
        case dfu
        /// The control-request firmware update in normal mode (bootloader, NCP); executed by
        /// the identify stage, reported here.
        case controlRequest
    }

    public enum Kind: Hashable, Sendable {
        case module(ModuleIdentity)
        /// Erase the first page of the legacy 128 KB user-part slot, so the old application
        /// there can never be started (what particle-cli does for apps needing system >= 3103).
        case invalidateLegacyUserPart
    }

    public let name: String
    public let kind: Kind
    public let path: Path
    /// Where the first byte lands.
    public let address: UInt32
    /// Exactly the bytes that land in flash (`FirmwareModule.flashImage`): for
    /// DROP_MODULE_INFO modules, the file without its 24-byte prefix.
    public let bytes: [UInt8]
    public let reason: String

    public init(name: String, kind: Kind, path: Path, address: UInt32, bytes: [UInt8], reason: String) {
        self.name = name
        self.kind = kind
        self.path = path
        self.address = address
        self.bytes = bytes
        self.reason = reason
    }
}

/// The ordered plan for one device: Particle's fixed order (control-request modules first,
/// then radio stack, system parts by index, user part last), checked against the image the
/// device will hold when it is done.
public struct FlashPlan: Hashable, Sendable {
    public let platform: PlatformID
    public let steps: [FlashStep]
    /// Installed modules that stay plus the planned ones.
    public let finalImage: [ModuleIdentity]

    public init(platform: PlatformID, steps: [FlashStep], finalImage: [ModuleIdentity]) {
        self.platform = platform
        self.steps = steps
        self.finalImage = finalImage
    }

    public var dfuSteps: [FlashStep] { steps.filter { $0.path == .dfu } }

    /// True when a step writes a module into the slot (function and index) of `installed`.
    public func replaces(_ installed: ModuleIdentity) -> Bool {
        steps.contains { step in
            guard case .module(let identity) = step.kind else { return false }
            return identity.function == installed.function && identity.index == installed.index
        }
    }
    public var controlRequestSteps: [FlashStep] { steps.filter { $0.path == .controlRequest } }
}

/// A module file offered to the planner.
public struct PlannedModule: Sendable {
    public let name: String
    public let module: FirmwareModule
    public init(name: String, module: FirmwareModule) {
        self.name = name
        self.module = module
    }
}

/// Why a plan was refused, before anything touches the device.
public enum PlanRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    case wrongPlatform(file: String, found: UInt16, expected: PlatformID)
    case integrity(file: String, what: String)
    case unmetDependency(module: String, needs: String)
    case productMismatch(file: String, found: UInt16, expected: UInt16)
    case protectedDevice
    /// In Service Mode, on a line that does not flash Service Mode units.
    case serviceMode
    /// A Service Mode unit flashed where the line allows it, with firmware that would not
    /// keep it a protected device.
    case unfitForProtected(file: String, reason: String)
    case notWritable(file: String, address: UInt32, reason: String)
    case unsupportedModule(file: String, reason: String)
    case duplicate(file: String, other: String)
    /// A DFU-only flash would leave a written module without a dependency that only a
    /// control-request step (normal mode) would install.
    case needsNormalMode(module: String, needs: String, deferred: [String])

    public var code: String {
        switch self {
        case .wrongPlatform: "PLAN-WRONG-PLATFORM"
        case .integrity: "PLAN-INTEGRITY"
        case .unmetDependency: "PLAN-DEPENDENCY"
        case .productMismatch: "PLAN-PRODUCT"
        case .protectedDevice, .serviceMode: "PLAN-PROTECTED"
        case .unfitForProtected: "PLAN-PROTECTED-FIRMWARE"
        case .notWritable: "PLAN-NOT-WRITABLE"
        case .unsupportedModule: "PLAN-UNSUPPORTED"
        case .duplicate: "PLAN-DUPLICATE"
        case .needsNormalMode: "PLAN-NEEDS-NORMAL-MODE"
        }
    }

    public var description: String {
        switch self {
        case .wrongPlatform(let file, let found, let expected):
            "\(file) is built for platform \(found), but the device is platform \(expected). Use the firmware for this device; nothing was written."
        case .integrity(let file, let what):
            "\(file) is damaged (\(what)). Get the file again and check it against the manifest; nothing was written."
        case .unmetDependency(let module, let needs):
            "after flashing, \(module) would need \(needs), which the device would not have: it would not boot. Add that module to the manifest; nothing was written."
        case .productMismatch(let file, let found, let expected):
            "\(file) is product firmware for product \(found), but this line makes product \(expected). Check the manifest; nothing was written."
        case .protectedDevice:
            "the device is protected (Device Protection): it cannot be written over USB, and rework needs Service Mode, which needs the cloud. Route it to the online rework bench; nothing was written."
        case .serviceMode:
            "the device is in Service Mode (Device Protection), and this line does not flash Service Mode units (`[bench] allow_service_mode = true`, or `station flash --allow-service-mode`, allows it). Route it to the online rework bench; nothing was written."
        case .unfitForProtected(let file, let reason):
            "the device is in Service Mode (a protected unit opened for rework), and \(file) does not fit a protected unit: \(reason). Use the protected product's manifest; nothing was written."
        case .notWritable(let file, let address, let reason):
            "\(file) cannot be written over DFU at 0x\(String(address, radix: 16)): \(reason). Nothing was written."
        case .unsupportedModule(let file, let reason):
            "\(file) cannot be flashed: \(reason). Nothing was written."
        case .duplicate(let file, let other):
            "\(file) and \(other) are the same module (function and index); keep one. Nothing was written."
        case .needsNormalMode(let module, let needs, let deferred):
            "after this DFU-mode flash, \(module) would need \(needs), which only \(deferred.joined(separator: ", ")) would give, and DFU cannot write that (the device installs it itself, by control request in normal mode): the device would not boot. Reset the device into its firmware (normal mode) and run the same `station flash --port` again: it sends \(deferred.joined(separator: ", ")) first. Nothing was written."
        }
    }
}
