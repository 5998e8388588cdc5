import FirmwareModules
import ParticleDevices

/// Who an emulated device is, beyond its flash: what the sticker, the SIM and the modem say,
/// and how it behaves once it runs its firmware. Normal-mode behaviour (console, control
/// requests, the cloud-connection timer) reads these.
public struct DeviceProfile: Hashable, Sendable {
    public enum Mode: String, Hashable, Sendable, CaseIterable {
        case dfu, normal, listening
    }

    public var deviceID: DeviceID
    public var serial: SerialNumber?
    public var iccid: ICCID?
    public var imei: IMEI?
    /// A SIM that is active lets a device in normal operation reach the cloud.
    public var simActive: Bool
    /// How long a device in normal operation (not listening) with an active SIM takes to
    /// connect to the cloud.
    public var cloudConnectDelay: Duration
    /// The USB serial-number string in normal mode when it is not the device ID (a damaged
    /// or hostile device: the udev rules must name its port safely all the same).
    public var usbSerial: String?
    /// Its Device Protection state (Device OS 6): what request 76 and DFU descriptor 0xFA report.
    public var protection: DeviceProtection = .open

    public init(deviceID: DeviceID, serial: SerialNumber? = nil, iccid: ICCID? = nil, imei: IMEI? = nil, simActive: Bool = false,
                cloudConnectDelay: Duration = .seconds(20)) {
        self.deviceID = deviceID
        self.serial = serial
        self.iccid = iccid
        self.imei = imei
        self.simActive = simActive
        self.cloudConnectDelay = cloudConnectDelay
    }
}

/// One device on the virtual bench, as a spec file describes it (`lab/run --devices FILE`,
/// `station lab serve --spec FILE`).
public struct BenchDevice: Sendable {
    /// What the device holds before the station sees it.
    public enum Preload: Hashable, Sendable {
        /// The bootloader only (every factory device has one).
        case bootloader
        /// Bootloader, radio stack (Gen 3) and system part(s) of the spec's Device OS.
        case deviceOS
        /// An application for the spec's Device OS.
        case application
        /// A module file.
        case file(String)
    }

    public var platform: Platform
    public var mode: DeviceProfile.Mode
    public var profile: DeviceProfile
    /// The Device OS release the `deviceOS` and `application` preloads are made for.
    public var deviceOS: String
    public var preload: [Preload]
    public var faults: [Fault]
    /// Plugged in when the bench starts (true), or left for the scenario to plug in
    /// (`lab_attach BUS`), so something already watching sees it arrive.
    public var attachAtStart: Bool

    public init(platform: Platform, mode: DeviceProfile.Mode = .dfu, profile: DeviceProfile, deviceOS: String = "6.2.0",
                preload: [Preload] = [.bootloader], faults: [Fault] = [], attachAtStart: Bool = true) {
        self.platform = platform
        self.mode = mode
        self.profile = profile
        self.deviceOS = deviceOS
        self.preload = preload
        self.faults = faults
        self.attachAtStart = attachAtStart
    }

    /// The modules to preload, made by the module writer (files are read by the caller and
    /// passed in `files`, keyed by path). NCP modules go to the co-processor.
    /// `protectedBootloader`: the bootloader made is the protected variant.
    public func modules(files: [String: FirmwareModule], protectedBootloader: Bool = false) throws(BenchSpecError) -> [FirmwareModule] {
        guard let systemVersion = DeviceOSVersionTable.bundled.systemModuleVersion(forRelease: deviceOS) else {
            throw .unknownDeviceOS(deviceOS)
        }
        let gen2 = platform.generation == 2
        let bootVersion: UInt16 = gen2 ? 1006 : 3100
        let boot = ModuleDependency(function: .bootloader, index: 0, version: bootVersion)
        var result: [FirmwareModule] = []
        var missing: String?
        do throws(ModuleError) {
            for item in preload {
                switch item {
                case .bootloader:
                    result.append(try ModuleFactory.bootloader(platform, version: bootVersion, protected: protectedBootloader))
                case .deviceOS:
                    if !result.contains(where: { $0.header.function == .bootloader }) {
                        result.append(try ModuleFactory.bootloader(platform, version: bootVersion, protected: protectedBootloader))
                    }
                    if gen2 {
                        for index in UInt8(1)...3 {
                            let needs = index == 1 ? boot : ModuleDependency(function: .systemPart, index: index - 1, version: systemVersion)
                            result.append(try ModuleFactory.systemPart(platform, index: index, version: systemVersion, size: 32 * 1024, dependencies: [needs]))
                        }
                    } else {
                        var needs = [boot]
                        if platform.moduleSlots?.radioStack != nil {
                            result.append(try ModuleFactory.radioStack(platform, version: 202, size: 32 * 1024, dependencies: [boot]))
                            needs.append(ModuleDependency(function: .radioStack, index: 0, version: 202))
                        }
                        result.append(try ModuleFactory.systemPart(platform, version: systemVersion, size: 64 * 1024, dependencies: needs))
                    }
                case .application:
                    let system = ModuleDependency(function: .systemPart, index: gen2 ? 3 : 1, version: systemVersion)
                    result.append(try ModuleFactory.userPart(platform, requiresSystem: system, product: (id: 12_345, version: 1)))
                case .file(let path):
                    if let module = files[path] { result.append(module) } else { missing = path }
                }
            }
        } catch {
            throw .module(error.description)
        }
        if let missing { throw .missingFile(missing) }
        return result
    }
}

/// Demo firmware made by the project's own module writer (never Particle's binaries): a
/// Device OS release's modules for a platform and a product firmware, named like release
/// files with a `demo-` prefix so nobody mistakes them for real firmware.
public enum DemoFirmware {
    /// `deviceProtection`: a protected product's release (its bootloader the protected variant).
    public static func release(_ platform: Platform, deviceOS: String, product: (id: UInt16, version: UInt16),
                               deviceProtection: Bool = false) throws(BenchSpecError) -> [(name: String, module: FirmwareModule)] {
        let device = BenchDevice(platform: platform, profile: TestIdentities.profile(), deviceOS: deviceOS, preload: [.deviceOS])
        var named = try device.modules(files: [:], protectedBootloader: deviceProtection).map { module -> (name: String, module: FirmwareModule) in
            let header = module.header
            let what = switch header.function {
            case .bootloader: deviceProtection ? "bootloader-protected" : "bootloader"
            case .radioStack: "softdevice"
            case .systemPart: "system-part\(header.index)"
            default: header.function.name
            }
            return ("demo-\(platform.name)-\(what)@\(deviceOS).bin", module)
        }
        guard let systemVersion = DeviceOSVersionTable.bundled.systemModuleVersion(forRelease: deviceOS) else { throw .unknownDeviceOS(deviceOS) }
        let system = ModuleDependency(function: .systemPart, index: platform.generation == 2 ? 3 : 1, version: systemVersion)
        do {
            named.append(("demo-\(platform.name)-product-\(product.id)-v\(product.version).bin",
                          try ModuleFactory.userPart(platform, requiresSystem: system, product: product)))
        } catch {
            throw .module(error.description)
        }
        return named
    }
}

/// A spec that cannot be used; the message names the key and the fix.
public enum BenchSpecError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownDeviceOS(String)
    case missingFile(String)
    case module(String)
    case invalid(key: String, problem: String)

    public var description: String {
        switch self {
        case .unknownDeviceOS(let release):
            "device_os = \"\(release)\" is not a Device OS release the station knows; use one from device-os-versions.json, e.g. \"6.2.0\"."
        case .missingFile(let path): "preload file \(path) was not loaded."
        case .module(let problem): "could not make a preload module: \(problem)"
        case .invalid(let key, let problem): "\(key): \(problem)"
        }
    }
}
