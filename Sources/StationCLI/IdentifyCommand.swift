import ArgumentParser
import ControlRequests
import Foundation
import LibUSB
import ListeningConsole
import ParticleDevices
import Seams
import SerialPort
import Udev

/// `station identify (--port PATH | --device ID) [--listen] [--json]`: reads a normal-mode
/// device's identity over control requests, and with --listen puts it in listening mode
/// first, so it cannot reach the cloud (the no-cloud guard).
struct IdentifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identify", abstract: "Read a normal-mode device's identity over USB control requests.",
        discussion: """
            Device ID, serial number, Device OS version, ICCID and IMEI (when its Device OS reports \
            them), listening mode, and the modules it holds with their validity. --listen first puts \
            the device in listening mode, which keeps it off the cloud (a first connection starts billing).
            """)

    @Option(name: .long, help: "The device at this USB port path.") var port: String?
    @Option(name: .long, help: "The device with this device ID.") var device: String?
    @Flag(name: .long, help: "Put the device in listening mode first (keeps it off the cloud).") var listen = false
    @Flag(name: .long, help: "Print JSON.") var json = false
    @Option(name: .long, help: "Record every control transfer to this JSON file.") var record: String?
    @Flag(name: .long, help: "Read the identity from the listening-mode console on the device's serial port instead (the device must be listening).")
    var console = false

    struct Identity: Codable {
        var port: String
        var platform: String?
        var deviceID: String
        var serialNumber: String?
        var deviceOS: String?
        var iccid: String?
        var imei: String?
        var listening: Bool?
        var modules: [Module]?
        var notes: [String]
        struct Module: Codable {
            var function: String
            var index: Int
            var version: Int
            var valid: Bool
        }
    }

    func validate() throws {
        guard (port == nil) != (device == nil) else { throw ValidationError("Name the device with --port PATH or --device ID.") }
    }

    func run() async throws {
        let bus: LibUSBBus
        let summary: USBDeviceSummary
        let transport: LibUSBTransport
        do {
            bus = try LibUSBBus(logLevel: .none)
            summary = try await RealDFUDevice.select(bus: bus, port: port, deviceID: device, mode: .normal)
            transport = try await bus.open(portPath: summary.portPath)
        } catch {
            print("FAIL: \(error)")
            throw StationExitCode.unavailable.exitCode
        }
        if console {
            try await identifyByConsole(summary)
            return
        }
        let recorder = record != nil ? RecordingTransport(transport) : nil
        let seam: any USBControlTransport = recorder ?? transport
        let channel = ControlChannel(transport: seam, clock: ContinuousClock())
        await channel.reset()  // leftovers from an earlier host
        let requests = ControlRequests(channel: channel)
        var identity = Identity(port: summary.portPath, platform: PlatformCatalog.bundled.platform(usbProductID: summary.productID)?.platform.name,
                                deviceID: "", notes: [])
        var failed = false
        func attempt<T>(_ what: String, _ body: () async throws(ControlRequestError) -> T) async -> T? {
            do { return try await body() } catch {
                identity.notes.append("\(what): \(error.description)")
                if error.code != "CTRL-NOT-SUPPORTED" { failed = true }
                return nil
            }
        }
        if listen {
            _ = await attempt("start listening") { () async throws(ControlRequestError) in try await requests.startListening() }
        }
        identity.deviceID = await attempt("device ID") { () async throws(ControlRequestError) in try await requests.deviceID() } ?? ""
        identity.serialNumber = await attempt("serial number") { () async throws(ControlRequestError) in try await requests.serialNumber() }
        identity.deviceOS = await attempt("Device OS version") { () async throws(ControlRequestError) in try await requests.systemVersion() }
        if let cellular = await attempt("ICCID/IMEI", { () async throws(ControlRequestError) in try await requests.cellularIdentity() }) {
            identity.iccid = cellular.iccid
            identity.imei = cellular.imei
            if cellular.imei == nil { identity.notes.append("IMEI: this Device OS does not report it over USB (5.8.0 / 6.1.0 and later do); the listening-mode console's `i` does") }
        }
        identity.listening = await attempt("device mode") { () async throws(ControlRequestError) in try await requests.isListening() }
        identity.modules = await attempt("module info") { () async throws(ControlRequestError) in try await requests.modules() }?.map {
            Identity.Module(function: $0.function?.name ?? "unknown", index: Int($0.index), version: Int($0.version), valid: $0.isValid)
        }
        if let recorder, let record {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try? encoder.encode(await recorder.recording).write(to: URL(fileURLWithPath: record))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(identity), as: UTF8.self))
        } else {
            print("\(identity.port)  \(identity.platform ?? "?")  device ID \(identity.deviceID)")
            print("  serial number \(identity.serialNumber ?? "-"), Device OS \(identity.deviceOS ?? "-"), ICCID \(identity.iccid ?? "-"), IMEI \(identity.imei ?? "-")")
            print("  listening mode: \(identity.listening.map { $0 ? "yes (kept off the cloud)" : "no" } ?? "-")")
            for module in identity.modules ?? [] { print("  module \(module.function) #\(module.index) v\(module.version) \(module.valid ? "valid" : "INVALID")") }
            for note in identity.notes { print("  note: \(note)") }
        }
        if failed { throw StationExitCode.failed.exitCode }
    }

    /// `i`, `v` and `s` on the serial port udev names for the device's USB port.
    func identifyByConsole(_ summary: USBDeviceSummary) async throws {
        guard let tty = (try? UdevContext().nodes(subsystem: "tty", forPortPath: summary.portPath))?.first else {
            print("FAIL: no serial port for \(summary.portPath); is the cdc-acm driver loaded? `station devices` shows the tty.")
            throw StationExitCode.unavailable.exitCode
        }
        let port: SerialPort
        do { port = try SerialPort(path: tty) } catch {
            print("FAIL: \(error); check the udev rules (`station doctor`).")
            throw StationExitCode.unavailable.exitCode
        }
        let console = ListeningConsole(stream: port)
        var result: Identity
        var failed = false
        do {
            let identity = try await console.identify()
            let version = try await console.version()
            result = Identity(port: summary.portPath, platform: PlatformCatalog.bundled.platform(usbProductID: summary.productID)?.platform.name,
                              deviceID: identity.deviceID, notes: ["read from the listening-mode console on \(tty)"])
            result.serialNumber = identity.serialNumber
            result.deviceOS = version
            result.iccid = identity.iccid
            result.imei = identity.imei
            result.listening = true
        } catch {
            print("FAIL \(error)")
            throw StationExitCode.failed.exitCode
        }
        do {
            let info = try await console.modules()
            result.modules = info.modules.map { Identity.Module(function: $0.function.name, index: Int($0.index), version: Int($0.version), valid: $0.isValid) }
        } catch {
            result.notes.append("module list (s): \(error.description)")
            failed = true
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(json ? String(decoding: try encoder.encode(result), as: UTF8.self)
              : "\(result.port) (\(tty))  device ID \(result.deviceID), serial \(result.serialNumber ?? "-"), Device OS \(result.deviceOS ?? "-"), ICCID \(result.iccid ?? "-"), IMEI \(result.imei ?? "-")"
                + result.notes.dropFirst().map { "\n  note: \($0)" }.joined())
        if failed { throw StationExitCode.failed.exitCode }
    }
}
