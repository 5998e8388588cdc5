import StationConfig
import DeviceEmulator
import FirmwareModules
import Foundation
import ParticleDevices

/// The virtual bench's device spec (`lab/run --devices FILE`, `station lab serve --spec
/// FILE`): one `[[device]]` table per emulated device, attached as bus IDs 1-1, 1-2, ... in
/// order. Keys are documented in lab/README.md; unknown keys are errors.
enum LabSpecFile {
    static let keys = ["platform", "mode", "device_id", "usb_serial", "serial", "iccid", "imei", "device_os", "preload", "sim_active", "cloud_connect_delay", "faults", "attach", "protection"]

    /// The barcode scanners a spec file describes (`[[scanner]]` with `kind = "serial"` or
    /// `"keyboard"`),
    /// served after the devices.
    static func scanners(_ path: String) throws(ConfigFileError) -> [String] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigFileError(file: path, key: nil, problem: "cannot read it (\(error.localizedDescription)); check the path.")
        }
        let root = try TOMLFields(try TOMLFields.parse(text, file: path), path: "", file: path, allowed: ["device", "scanner"])
        var kinds: [String] = []
        for (index, table) in (try root.tables("scanner") ?? []).enumerated() {
            let fields = try TOMLFields(table, path: "scanner[\(index + 1)]", file: path, allowed: ["kind"])
            let kind = try fields.string("kind") ?? "serial"
            guard kind == "serial" || kind == "keyboard" else {
                throw fields.fail("kind", "'\(kind)': use serial (a USB-serial scanner, 1209:0001) or keyboard (a keyboard-wedge HID scanner, 1209:0002).")
            }
            kinds.append(kind)
        }
        return kinds
    }

    /// The devices a spec file describes; preload files are read relative to the spec.
    static func load(_ path: String) throws(ConfigFileError) -> [(device: BenchDevice, modules: [FirmwareModule])] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigFileError(file: path, key: nil, problem: "cannot read it (\(error.localizedDescription)); check the path.")
        }
        let root = try TOMLFields(try TOMLFields.parse(text, file: path), path: "", file: path, allowed: ["device", "scanner"])
        guard let tables = try root.tables("device"), !tables.isEmpty else {
            throw ConfigFileError(file: path, key: "device", problem: "no devices; add a [[device]] table with at least platform = \"boron\".")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        var result: [(BenchDevice, [FirmwareModule])] = []
        for (index, table) in tables.enumerated() {
            let fields = try TOMLFields(table, path: "device[\(index + 1)]", file: path, allowed: keys)
            result.append(try device(fields, index: index, base: base))
        }
        return result
    }

    static func device(_ fields: TOMLFields, index: Int, base: URL) throws(ConfigFileError) -> (BenchDevice, [FirmwareModule]) {
        let names = PlatformCatalog.bundled.provisionable.map(\.name).joined(separator: ", ")
        guard let platformName = try fields.string("platform") else { throw fields.fail("platform", "missing; name one of: \(names).") }
        guard let platform = PlatformCatalog.bundled.platform(named: platformName), platform.isProvisionable else {
            throw fields.fail("platform", "'\(platformName)' is not a platform the station provisions; use one of: \(names).")
        }
        let modeName = try fields.string("mode") ?? "dfu"
        guard let mode = DeviceProfile.Mode(rawValue: modeName) else {
            throw fields.fail("mode", "'\(modeName)' is not a mode; use dfu, normal or listening.")
        }
        // Unnamed identities are random but valid: nothing can agree with them by accident.
        var profile = TestIdentities.profile()
        func parse<T>(_ key: String, _ make: (String) throws(IdentifierError) -> T) throws(ConfigFileError) -> T? {
            guard let text = try fields.string(key) else { return nil }
            do { return try make(text) } catch { throw fields.fail(key, error.description) }
        }
        profile.deviceID = try parse("device_id", DeviceID.init) ?? (try! DeviceID(String(format: "e00fce68ae40e8a1f5b4%04x", index + 1)))
        if let serial = try parse("serial", SerialNumber.init) { profile.serial = serial }
        profile.usbSerial = try fields.string("usb_serial")
        if let iccid = try parse("iccid", ICCID.init) { profile.iccid = iccid }
        if let imei = try parse("imei", IMEI.init) { profile.imei = imei }
        let protection = try fields.string("protection") ?? "open"
        guard let state = DeviceProtection(rawValue: protection) else {
            throw fields.fail("protection", "'\(protection)' is not a Device Protection state; use open, protected or service.")
        }
        profile.protection = state
        profile.simActive = try fields.bool("sim_active") ?? false
        profile.cloudConnectDelay = try fields.seconds("cloud_connect_delay") ?? .seconds(20)
        let deviceOS = try fields.string("device_os") ?? "6.2.0"
        var preload: [BenchDevice.Preload] = []
        var files: [String: FirmwareModule] = [:]
        for item in try fields.strings("preload") ?? ["bootloader"] {
            switch item {
            case "bootloader": preload.append(.bootloader)
            case "device-os": preload.append(.deviceOS)
            case "application": preload.append(.application)
            default:
                let url = item.hasPrefix("/") ? URL(fileURLWithPath: item) : base.appendingPathComponent(item)
                guard let data = try? Data(contentsOf: url) else {
                    throw fields.fail("preload", "'\(item)' is neither bootloader, device-os nor application, and no module file is at \(url.path).")
                }
                do {
                    files[item] = try FirmwareModule(bytes: [UInt8](data))
                } catch {
                    throw fields.fail("preload", "\(url.path) is not a module: \(error.description)")
                }
                preload.append(.file(item))
            }
        }
        let faults: [Fault]
        do {
            faults = try LabServeCommand.faults((try fields.strings("faults") ?? []).joined(separator: ","))
        } catch {
            throw fields.fail("faults", "\(error)")
        }
        let attach = try fields.string("attach") ?? "start"
        guard attach == "start" || attach == "scenario" else {
            throw fields.fail("attach", "'\(attach)' is not a choice; use \"start\" (plugged in when the bench starts) or \"scenario\" (the scenario plugs it in with lab_attach).")
        }
        let device = BenchDevice(platform: platform, mode: mode, profile: profile, deviceOS: deviceOS, preload: preload, faults: faults,
                                 attachAtStart: attach == "start")
        do {
            return (device, try device.modules(files: files))
        } catch {
            throw fields.fail(error == .unknownDeviceOS(deviceOS) ? "device_os" : "preload", error.description)
        }
    }
}
