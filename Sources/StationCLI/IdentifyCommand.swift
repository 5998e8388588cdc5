import ArgumentParser
import ControlRequests
import DFU
import Foundation
import LibUSB
import ListeningConsole
import ParticleDevices
import Seams
import SerialPort
import Station
import Udev

/// `station identify [--port PATH | --device ID] [--json]`: every attached Particle device
/// (or the one named), identified over the channels its mode offers.
struct IdentifyCommand: AsyncParsableCommand, JSONOutputCommand {
    var printsJSON: Bool { json }
    static let configuration = CommandConfiguration(
        commandName: "identify", abstract: "Read each device's identity: device ID, serial number, ICCID, IMEI, Device OS, modules.",
        discussion: """
            Normal-mode devices are first put in listening mode, which keeps them off the cloud (a \
            first connection starts billing), then read over USB control requests; what those cannot \
            give (the Electron's ICCID and IMEI, IMEI before Device OS 5.8.0) comes from the \
            listening-mode console on the device's serial port. DFU-mode devices are identified as \
            far as DFU allows (device ID, platform, modules, Device OS); the rest needs normal mode. \
            --json prints an array with one object per device; `sources` says which channel gave \
            each value and a value that could not be read is null. Exit 1 when a read failed, 69 \
            when no device matches.
            """)

    @Option(name: .long, help: "Only the device at this USB port path.") var port: String?
    @Option(name: .long, help: "Only the device with this device ID.") var device: String?
    @Flag(name: .long, help: "Print JSON.") var json = false
    @Option(name: .long, help: "Record every control transfer to this JSON file (one device).") var record: String?

    func validate() throws {
        if port != nil && device != nil { throw ValidationError("Name the device one way: --port PATH or --device ID.") }
        if let device, (try? DeviceID(device)) == nil { throw ValidationError("--device '\(device)' is not a 24-character hex device ID.") }
    }

    func run() async throws {
        let bus: LibUSBBus
        var targets: [USBDeviceSummary]
        do {
            bus = try LibUSBBus(logLevel: .none)
            if port != nil || device != nil {
                targets = [try await RealDFUDevice.select(bus: bus, port: port, deviceID: device)]
            } else {
                targets = try await bus.devices(vendorID: PlatformCatalog.bundled.vendorID)
                    .filter { PlatformCatalog.bundled.platform(usbProductID: $0.productID) != nil }
                    .sorted { $0.portPath < $1.portPath }
            }
        } catch {
            throw CommandFailure.from(error) ?? CommandFailure(.unavailable, "USB-UNAVAILABLE", "\(error)")
        }
        if record != nil && targets.count != 1 { throw ValidationError("--record takes one device: name it with --port or --device.") }
        guard !targets.isEmpty else {
            throw CommandFailure(.unavailable, "DEVICE-NOT-FOUND", "no Particle devices attached; check the cables and `station doctor`")
        }
        // Each device on its own task: a slow console does not hold up the others.
        let identities = await withTaskGroup(of: (Int, DeviceIdentity).self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask { (index, await identify(bus: bus, target)) }
            }
            var all: [(Int, DeviceIdentity)] = []
            for await item in group { all.append(item) }
            return all.sorted { $0.0 < $1.0 }.map(\.1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(identities), as: UTF8.self))
        } else {
            for identity in identities { print(Self.text(identity)) }
        }
        if identities.contains(where: \.incomplete) { throw StationExitCode.failed.exitCode }
    }

    func identify(bus: LibUSBBus, _ target: USBDeviceSummary) async -> DeviceIdentity {
        let identifier = DeviceIdentifier()
        let transport: LibUSBTransport
        do { transport = try await bus.open(portPath: target.portPath) } catch {
            var identity = DeviceIdentity(port: target.portPath, mode: .normal)
            identity.notes.append("could not open the device: \(error)")
            identity.incomplete = true
            return identity
        }
        let recorder = record != nil ? RecordingTransport(transport) : nil
        let seam: any USBControlTransport = recorder ?? transport
        let identity = identifier.start(port: target.portPath, productID: target.productID, usbSerial: try? await DevicesCommand.serial(seam))
        if identity.mode == .dfu {
            let result = await identifyDFU(identity, transport: transport, seam: seam)
            await save(recorder)
            return result
        }
        let channel = ControlChannel(transport: seam, clock: ContinuousClock())
        await channel.reset()  // leftovers from an earlier host
        let portPath = target.portPath
        let result = await identifier.identifyNormal(identity, requests: ControlRequests(channel: channel)) { () async throws -> ListeningConsole in
            guard let tty = (try? UdevContext().nodes(subsystem: "tty", forPortPath: portPath))?.first else {
                throw ConsoleOpenFailure(text: "no serial port for \(portPath); is the cdc-acm driver loaded? `station devices` shows the tty")
            }
            do { return ListeningConsole(stream: try SerialPort(path: tty), clock: ContinuousClock()) } catch {
                throw ConsoleOpenFailure(text: "\(tty): \(error); check the udev rules (`station doctor`)")
            }
        }
        await save(recorder)
        return result
    }

    func save(_ recorder: RecordingTransport?) async {
        guard let recorder, let record else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(await recorder.recording).write(to: URL(fileURLWithPath: record)) } catch {
            print("could not write the recording to \(record): \(error.localizedDescription)")
        }
    }

    func identifyDFU(_ identity: DeviceIdentity, transport: LibUSBTransport, seam: any USBControlTransport) async -> DeviceIdentity {
        var identity = identity
        guard let name = identity.platform, let platform = PlatformCatalog.bundled.platform(named: name) else { return identity }
        do {
            try await transport.claim(interface: 0, alternateSetting: 0)
            let session = try await DfuSeSession.open(seam, clock: ContinuousClock())
            let protection = DeviceProtection.reported(by: session)
            let inventory = protection == .protected ? nil : try await DeviceInventory.read(session, platform: platform, depth: .whole)
            try? await session.abort()
            return DeviceIdentifier().identifyDFU(identity, protection: protection, inventory: inventory)
        } catch {
            identity.notes.append("DFU read: \(error)")
            identity.incomplete = true
            return identity
        }
    }

    static func text(_ identity: DeviceIdentity) -> String {
        func value(_ field: String, _ text: String?) -> String {
            guard let text else { return "-" }
            return "\(text) (\(identity.sources[field]?.rawValue ?? "?"))"
        }
        var lines = ["\(identity.port)  \(identity.platform ?? "unknown platform")  \(identity.mode.rawValue) mode  device ID \(value("deviceID", identity.deviceID))"]
        lines.append("  serial number \(value("serialNumber", identity.serialNumber))")
        lines.append("  ICCID \(value("iccid", identity.iccid)), IMEI \(value("imei", identity.imei))")
        lines.append("  Device OS \(value("deviceOSVersion", identity.deviceOSVersion))")
        lines.append("  Device Protection \(value("protection", identity.protection?.rawValue))"
                     + (identity.protection == .protected ? ": USB cannot write it; rework needs the online rework bench" : ""))
        if identity.mode == .listening { lines.append("  listening mode: kept off the cloud") }
        for module in identity.modules ?? [] {
            lines.append("  module \(module.function.name) #\(module.index) v\(module.version) \(module.valid ? "valid" : "INVALID")")
        }
        lines += identity.notes.map { "  note: \($0)" }
        return lines.joined(separator: "\n")
    }
}

struct ConsoleOpenFailure: Error, CustomStringConvertible {
    let text: String
    var description: String { text }
}
