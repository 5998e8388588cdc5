import ControlRequests
import FirmwareModules
import ListeningConsole
import ParticleDevices
import Seams

/// Reads a device's identity over whatever channel its mode and Device OS offer: the USB
/// descriptors always; control requests in normal mode (what the release supports, from
/// `DeviceOSCapabilities`); the listening-mode console for what control requests cannot give
/// (the Electron's ICCID and IMEI, IMEI before 5.8.0, modules before request 90); DFU
/// uploads in DFU mode. No I/O of its own: the channels come in as seams.
public struct DeviceIdentifier: Sendable {
    public let catalog: PlatformCatalog
    public let capabilities: DeviceOSCapabilities
    public let versions: DeviceOSVersionTable

    public init(catalog: PlatformCatalog = .bundled, capabilities: DeviceOSCapabilities = .bundled, versions: DeviceOSVersionTable = .bundled) {
        self.catalog = catalog
        self.capabilities = capabilities
        self.versions = versions
    }

    /// What the USB descriptors say: platform (product ID) and device ID (serial string).
    public func start(port: String, productID: UInt16, usbSerial: String?) -> DeviceIdentity {
        let found = catalog.platform(usbProductID: productID)
        var identity = DeviceIdentity(port: port, mode: found?.mode == .dfu ? .dfu : .normal)
        if let platform = found?.platform {
            identity.platform = platform.name
            identity.platformID = Int(platform.id.rawValue)
            identity.sources["platform"] = .usbDescriptor
            identity.sources["platformID"] = .usbDescriptor
        } else {
            identity.notes.append("USB product ID 2b04:\(String(productID, radix: 16)) is not a platform the station knows")
        }
        if let usbSerial, let id = try? DeviceID(usbSerial) {
            identity.deviceID = id.rawValue
            identity.sources["deviceID"] = .usbDescriptor
        } else {
            identity.notes.append("the USB serial string (\(usbSerial ?? "none")) is not a device ID")
        }
        return identity
    }

    /// A normal-mode device: puts it in listening mode first (the no-cloud rule: a listening
    /// device does not connect), then control requests, then the console for what is still
    /// missing. `openConsole` opens the device's serial port (nil: no console).
    public func identifyNormal(_ identity: DeviceIdentity, requests: ControlRequests,
                               openConsole: (@Sendable () async throws -> ListeningConsole)?) async -> DeviceIdentity {
        var identity = identity
        func attempt<T>(_ what: String, _ body: () async throws(ControlRequestError) -> T) async -> T? {
            do { return try await body() } catch {
                identity.notes.append("\(what) (control request): \(error.description)")
                // A refusal with DEVICE_PROTECTED (-1801) is the device saying it is protected.
                if error.isDeviceProtected, identity.protection == nil {
                    identity.protection = .protected
                    identity.sources["protection"] = .controlRequest
                }
                if error.code != "CTRL-NOT-SUPPORTED" { identity.incomplete = true }
                return nil
            }
        }
        let listening = await attempt("start listening") { () async throws(ControlRequestError) in try await requests.startListening() } != nil
        let id = await attempt("device ID") { () async throws(ControlRequestError) in try await requests.deviceID() }
        if let id, identity.deviceID?.lowercased() == id.lowercased() {
            identity.sources["deviceID"] = .controlRequest
        } else {
            identity.set(\.deviceID, "deviceID", id, from: .controlRequest)
        }
        let os = await attempt("Device OS version") { () async throws(ControlRequestError) in try await requests.systemVersion() }
        identity.set(\.deviceOSVersion, "deviceOSVersion", os, from: .controlRequest)
        let release = os.flatMap(DeviceOSRelease.init)
        let platform = identity.platform ?? ""
        identity.set(\.serialNumber, "serialNumber", await attempt("serial number") { () async throws(ControlRequestError) in try await requests.serialNumber() },
                     from: .controlRequest)
        if let release, capabilities.supports(.cellularIdentityRequest, release, platform: platform) {
            if let cellular = await attempt("ICCID/IMEI", { () async throws(ControlRequestError) in try await requests.cellularIdentity() }) {
                identity.set(\.iccid, "iccid", cellular.iccid, from: .controlRequest)
                identity.set(\.imei, "imei", cellular.imei, from: .controlRequest)
            }
        }
        if release.map({ capabilities.supports(.moduleInfoRequest, $0) }) ?? true,
           let modules = await attempt("module info", { () async throws(ControlRequestError) in try await requests.modules() }) {
            identity.modules = modules.map {
                DeviceIdentity.Module(identity: ModuleIdentity(function: $0.function ?? .none, index: $0.index, version: $0.version), valid: $0.isValid, sha256: $0.sha256)
            }
            identity.sources["modules"] = .controlRequest
        }
        // Request 76 where the release has it, or when the release is unknown (a protected
        // device may refuse the version request).
        if release.map({ capabilities.supports(.protectedStateRequest, $0) }) ?? true,
           let state = await attempt("protection state", { () async throws(ControlRequestError) in try await requests.protectedState() }) {
            identity.protection = DeviceProtection(protectedState: state.state, overridden: state.overridden)
            identity.sources["protection"] = .controlRequest
        }
        if let mode = await attempt("device mode", { () async throws(ControlRequestError) in try await requests.isListening() }) {
            identity.mode = mode ? .listening : .normal
        } else if listening {
            identity.mode = .listening
        }

        // A protected unit answers nothing more over USB: what it refused stays unknown, and
        // the job routes it to rework.
        if identity.protection == .protected { return identity }
        let missing = identity.serialNumber == nil || identity.iccid == nil || identity.imei == nil || identity.deviceOSVersion == nil || identity.modules == nil
        guard missing, identity.mode == .listening, let openConsole else {
            if missing, identity.mode != .listening {
                identity.notes.append("the console (for what control requests did not give) answers only in listening mode, and the device is not listening")
            }
            return identity
        }
        let console: ListeningConsole
        do { console = try await openConsole() } catch {
            identity.notes.append("console: \(error)")
            identity.incomplete = true
            return identity
        }
        do {
            let answer = try await console.identify()
            identity.set(\.deviceID, "deviceID", answer.deviceID, from: .console)
            identity.set(\.serialNumber, "serialNumber", answer.serialNumber, from: .console)
            identity.set(\.iccid, "iccid", answer.iccid, from: .console)
            identity.set(\.imei, "imei", answer.imei, from: .console)
        } catch {
            identity.notes.append("console i: \(error)")
            identity.incomplete = true
        }
        if identity.deviceOSVersion == nil {
            do { identity.set(\.deviceOSVersion, "deviceOSVersion", try await console.version(), from: .console) } catch {
                identity.notes.append("console v: \(error)")
                identity.incomplete = true
            }
        }
        if identity.modules == nil {
            do {
                identity.modules = try await console.modules().modules.map {
                    DeviceIdentity.Module(identity: ModuleIdentity(function: $0.function, index: $0.index, version: $0.version), valid: $0.isValid)
                }
                identity.sources["modules"] = .console
            } catch {
                identity.notes.append("console s: \(error)")
                identity.incomplete = true
            }
        }
        return identity
    }

    /// A DFU-mode device: its protection state (`DeviceProtection.reported(by:)`), modules
    /// from the DFU inventory, the Device OS release from the system part's version; the
    /// rest needs normal mode. A protected unit's inventory is not read (nil): it refuses
    /// DFU reads.
    public func identifyDFU(_ identity: DeviceIdentity, protection: DeviceProtection?, inventory: [DeviceInventory.Found]?) -> DeviceIdentity {
        var identity = identity
        identity.protection = protection
        if protection != nil { identity.sources["protection"] = .dfu }
        guard let inventory else {
            identity.notes.append("protected (Device Protection): its modules cannot be read over DFU")
            return identity
        }
        identity.modules = inventory.map {
            let id = $0.installed.identity
            return DeviceIdentity.Module(identity: id, valid: $0.valid, sha256: $0.installed.sha256)
        }
        identity.sources["modules"] = .dfu
        if let system = inventory.first(where: { $0.installed.identity.function == .systemPart && $0.valid }) {
            if let release = versions.release(for: system.installed.identity.version, kind: .systemPart) {
                identity.set(\.deviceOSVersion, "deviceOSVersion", release, from: .dfu)
            } else {
                identity.notes.append("Device OS: system part version \(system.installed.identity.version) is not in the station's release table")
            }
        }
        identity.notes.append("serial number, ICCID and IMEI need normal mode (DFU mode cannot read them)")
        return identity
    }
}
