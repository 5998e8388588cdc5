import DFU
import Foundation
import LibUSB
import ParticleDevices
import Seams

/// A real device in DFU mode, found on the bus by port path or device ID and opened for DFU:
/// interface 0 claimed, alt 0 selected, the layout read from the device itself (so a
/// protected device shows its `b` segments).
struct RealDFUDevice {
    let platform: Platform
    let session: DfuSeSession
    let recorder: RecordingTransport?
    let port: String

    enum Failure: Error, CustomStringConvertible {
        case notFound(String)
        case ambiguous([String])
        case notInDFU(String, UInt16)
        case unknownPlatform(UInt16)

        var code: String {
            switch self {
            case .notFound: "DEVICE-NOT-FOUND"
            case .ambiguous: "DEVICE-AMBIGUOUS"
            case .notInDFU: "DEVICE-NOT-IN-DFU"
            case .unknownPlatform: "DEVICE-UNKNOWN-PLATFORM"
            }
        }

        var description: String {
            switch self {
            case .notFound(let what): "no Particle device matches \(what). Check the cable; `station devices` lists what is attached."
            case .ambiguous(let ports): "several devices match (\(ports.joined(separator: ", "))); name one with --port."
            case .notInDFU(let port, let pid): "the device at \(port) is in normal mode (2b04:\(String(pid, radix: 16))); put it in DFU mode (hold MODE, tap RESET, release MODE when it blinks yellow) and retry."
            case .unknownPlatform(let pid): "2b04:\(String(pid, radix: 16)) is not a platform the station knows."
            }
        }
    }

    static func open(bus: LibUSBBus, port: String?, deviceID: String?, record: Bool) async throws -> RealDFUDevice {
        let catalog = PlatformCatalog.bundled
        let summary = try await select(bus: bus, port: port, deviceID: deviceID)
        guard let (platform, mode) = catalog.platform(usbProductID: summary.productID) else { throw Failure.unknownPlatform(summary.productID) }
        guard mode == .dfu else { throw Failure.notInDFU(summary.portPath, summary.productID) }
        let transport = try await bus.open(portPath: summary.portPath)
        try await transport.claim(interface: 0, alternateSetting: 0)
        let recorder = record ? RecordingTransport(transport) : nil
        let seam: any USBControlTransport = recorder ?? transport
        let session = try await DfuSeSession.open(seam, clock: ContinuousClock())
        return RealDFUDevice(platform: platform, session: session, recorder: recorder, port: summary.portPath)
    }

    /// The one Particle device a command names by port path or device ID (its USB serial
    /// string), optionally only among devices in `mode`.
    /// - Throws: `Failure.notFound` / `.ambiguous`, or the bus's error.
    static func select(bus: LibUSBBus, port: String?, deviceID: String?, mode: USBMode? = nil) async throws -> USBDeviceSummary {
        let catalog = PlatformCatalog.bundled
        var candidates = try await bus.devices(vendorID: catalog.vendorID)
        if let mode { candidates = candidates.filter { catalog.platform(usbProductID: $0.productID)?.mode == mode } }
        if let port { candidates = candidates.filter { $0.portPath == port } }
        if let deviceID {
            let wanted = try DeviceID(deviceID)
            var matching: [USBDeviceSummary] = []
            for candidate in candidates {
                let transport = try await bus.open(portPath: candidate.portPath)
                if let serial = try? await DevicesCommand.serial(transport), (try? DeviceID(serial)) == wanted { matching.append(candidate) }
            }
            candidates = matching
        }
        let what = (port.map { "port \($0)" } ?? deviceID.map { "device ID \($0)" } ?? "the request") + (mode.map { " in \($0) mode" } ?? "")
        guard !candidates.isEmpty else { throw Failure.notFound(what) }
        guard candidates.count == 1 else { throw Failure.ambiguous(candidates.map(\.portPath)) }
        return candidates[0]
    }

    /// Writes the recording, if one was asked for.
    func saveRecording(to path: String?) async {
        guard let path, let recorder else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(await recorder.recording).write(to: URL(fileURLWithPath: path))
            print("recording written to \(path)")
        } catch {
            print("could not write the recording to \(path): \(error.localizedDescription)")
        }
    }
}
