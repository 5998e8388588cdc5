import ArgumentParser
import Foundation
import DFU
import LibUSB
import ParticleDevices
import Seams
import USBBench
import Udev

/// One attached Particle device, as `station devices --json` prints it.
struct ListedDevice: Codable, Sendable {
    var port: String
    var platform: String?
    var platformID: Int?
    var mode: String
    var usbVendorID: Int
    var usbProductID: Int
    var deviceID: String?
    /// The serial port of a normal-mode device (`/dev/ttyACM0`), found through udev.
    var tty: String?
    var problem: String?
}

/// `station devices [--json]`: the Particle devices on the bus.
struct DevicesCommand: AsyncParsableCommand, JSONOutputCommand {
    var printsJSON: Bool { json }
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "List attached Particle devices: port path, platform, mode, VID:PID, device ID.")

    @Flag(name: .long, help: "Print a JSON array (keys: port, platform, platformID, mode, usbVendorID, usbProductID, deviceID).")
    var json = false

    @Flag(name: .long, help: "Keep watching: print each arrival and departure (hotplug) as it happens.")
    var watch = false

    @Option(name: .customLong("for"), help: "With --watch: stop after this many seconds.")
    var seconds: Double?

    @Option(name: .long, help: "Record every control transfer to this JSON file (an array, one recording per device).")
    var record: String?

    func run() async throws {
        if watch {
            try await Self.watch(for: seconds.map { Duration.milliseconds(Int($0 * 1000)) })
            return
        }
        let listed: [ListedDevice]
        let recorders = RecorderList()
        do {
            listed = try await Self.list(bus: try LibUSBBus(logLevel: .none), recorders: record == nil ? nil : recorders)
        } catch let error as LibUSBError {
            throw CommandFailure(.unavailable, error.code, error.description)
        }
        if let record {
            try await recorders.save(to: record)
        }
        if json {
            print(try JSONOutput.render(listed))
            return
        }
        if listed.isEmpty { print("no Particle devices attached") }
        for device in listed {
            let name = device.platform.map { "\($0) (\(device.platformID ?? 0))" } ?? "unknown platform"
            let pid = String(device.usbProductID, radix: 16)
            print("\(device.port)  \(name)  \(device.mode)  2b04:\(pid)  \(device.deviceID ?? "?")" + (device.tty.map { "  \($0)" } ?? "")
                + (device.problem.map { "  (\($0))" } ?? ""))
        }
    }

    static func list(bus: LibUSBBus, recorders: RecorderList? = nil) async throws -> [ListedDevice] {
        var result: [ListedDevice] = []
        let udev = try? UdevContext()
        for summary in try await bus.devices(vendorID: PlatformCatalog.bundled.vendorID) {
            let match = PlatformCatalog.bundled.platform(usbProductID: summary.productID)
            var entry = ListedDevice(
                port: summary.portPath, platform: match?.platform.name, platformID: match.map { Int($0.platform.id.rawValue) },
                mode: match?.mode.rawValue ?? "unknown", usbVendorID: Int(summary.vendorID), usbProductID: Int(summary.productID))
            do {
                let opened = try await bus.open(portPath: summary.portPath)
                let transport: any USBControlTransport = await recorders?.wrap(opened) ?? opened
                entry.deviceID = try await serial(transport).flatMap { try? DeviceID($0).rawValue }
            } catch {
                entry.problem = "\(error)"
            }
            if entry.mode == "normal" { entry.tty = try? udev?.nodes(subsystem: "tty", forPortPath: summary.portPath).first }
            result.append(entry)
        }
        return result.sorted { $0.port < $1.port }
    }

    /// Prints `arrived`/`left` lines for Particle devices until the time is up (or forever).
    static func watch(for limit: Duration?) async throws {
        let (bus, events) = try MachineProbe.watchParticleDevices(arrivals: MachineProbe.arrivalSource())
        say("watching for Particle devices" + (limit.map { " for \($0)" } ?? ""))
        let watcher = Task {
            for await event in events {
                switch event {
                case .arrived(let summary):
                    let match = PlatformCatalog.bundled.platform(usbProductID: summary.productID)
                    var id = "?"
                    if let transport = try? await bus.open(portPath: summary.portPath), let found = try? await serial(transport) { id = found }
                    say("arrived \(summary.portPath) \(match?.platform.name ?? "unknown") \(match?.mode.rawValue ?? "?") \(summary.vidPID) \(id)")
                case .left(let summary):
                    say("left \(summary.portPath) \(summary.vidPID)")
                }
            }
        }
        // Serial ports come and go with normal mode: udev reports them after its rules ran.
        let ttyMonitor = try? UdevMonitor(subsystems: ["tty"])
        let ttyWatcher = Task {
            guard let ttyMonitor else { return }
            for await event in ttyMonitor.events where event.devnode != nil && event.portPath != nil {
                say("tty \(event.action) \(event.devnode!) \(event.portPath!)")
            }
        }
        if let limit {
            try? await Task.sleep(for: limit)
            watcher.cancel()
            ttyWatcher.cancel()
        } else {
            await watcher.value
        }
        withExtendedLifetime((bus, ttyMonitor)) {}
    }

    /// The iSerialNumber string: the device ID on Particle devices (any case; normalised).
    static func serial(_ transport: any USBControlTransport) async throws -> String? {
        try await USBSerial.read(transport)
    }
}

/// The recordings of a command that talks to several devices.
actor RecorderList {
    var recorders: [RecordingTransport] = []

    func wrap(_ transport: any USBControlTransport) -> any USBControlTransport {
        let recorder = RecordingTransport(transport)
        recorders.append(recorder)
        return recorder
    }

    func save(to path: String) async throws {
        var recordings: [ControlRecording] = []
        for recorder in recorders { recordings.append(await recorder.recording) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(recordings).write(to: URL(fileURLWithPath: path))
    }
}
