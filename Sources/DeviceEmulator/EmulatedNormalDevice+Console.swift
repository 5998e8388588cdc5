import FirmwareModules
import Foundation
import ParticleDevices
import Seams

extension EmulatedNormalDevice {
    /// Device OS `module_function_string`.
    static func functionLetter(_ function: ModuleFunction) -> String {
        switch function {
        case .resource: "r"
        case .bootloader: "b"
        case .monoFirmware: "m"
        case .systemPart: "s"
        case .userPart: "u"
        case .ncpFirmware: "c"
        case .radioStack: "a"
        default: "n"
        }
    }

    /// What the listening-mode console prints for one key (system_setup.cpp).
    func consoleAnswer(_ key: UInt8) -> [UInt8] {
        let text: String
        switch key {
        case UInt8(ascii: "i"):
            var lines = ["Device ID: \(profile.deviceID.rawValue)", "Device Secret: \(String(repeating: "X", count: 15))"]
            if let serial = profile.serial { lines.append("Serial Number: \(serial.rawValue)") }
            if let imei = profile.imei { lines.append("IMEI: \(imei.rawValue)") }
            if let iccid = profile.iccid { lines.append("ICCID: \(iccid.rawValue)") }
            lines.append("Cell Radio Version: L0.0.00.00.05.12")
            text = lines.map { $0 + "\r\n" }.joined()
        case UInt8(ascii: "v"):
            text = "system firmware version: \(deviceOS)\n\r\n"
        case UInt8(ascii: "s"):
            var object: [String: Any] = ["p": Int(platform.id.rawValue)]
            if let imei = profile.imei { object["imei"] = imei.rawValue }
            if let iccid = profile.iccid { object["iccid"] = iccid.rawValue }
            object["m"] = modules.map { module -> [String: Any] in
                ["s": Int(module.size), "l": "m", "vc": 30, "vv": module.valid ? 30 : 28, "f": Self.functionLetter(module.function),
                 "n": String(module.index), "v": Int(module.version),
                 "d": module.dependencies.filter { $0.function != .none }.map { ["f": Self.functionLetter($0.function), "n": String($0.index), "v": Int($0.version)] }]
            }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
            text = String(decoding: data, as: UTF8.self) + "\r\n"
        case UInt8(ascii: "m"):
            let bytes = Array(profile.deviceID.rawValue.suffix(12))
            text = "Your device MAC address is\r\n" + stride(from: 0, to: 12, by: 2).map { String(bytes[$0..<($0 + 2)]) }.joined(separator: ":") + "\r\n"
        case UInt8(ascii: "x"):
            // Leaving listening mode resumes normal operation: the cloud attempt starts again.
            listening = false
            powerOnCloudAttempt()
            return []
        default:
            return []
        }
        return Array(text.utf8)
    }
}

extension EmulatedNormalDevice {
    /// What the device has sent and the host has not read yet, without waiting.
    public func takeOutput(maxLength: Int) -> [UInt8] {
        let chunk = Array(output.prefix(maxLength))
        output.removeFirst(chunk.count)
        return chunk
    }
}

/// The device's CDC data path as a byte stream, in process (what the kernel's tty gives the
/// `SerialPort` adapter on the virtual bench).
public struct EmulatedSerialStream: ByteStream {
    public let device: EmulatedNormalDevice
    public let name: String

    public init(_ device: EmulatedNormalDevice) {
        self.device = device
        name = "emulated tty of \(device.deviceName)"
    }

    public func write(_ bytes: [UInt8]) async throws(ByteStreamError) {
        guard await device.isAttached else { throw .closed(name) }
        await device.bulkOut(bytes)
    }

    public func read(timeout: Duration) async throws(ByteStreamError) -> [UInt8] {
        let clock = device.clock
        let deadline = Deadline(after: timeout, on: clock)
        while true {
            guard await device.isAttached else { throw .closed(name) }
            let bytes = await device.takeOutput(maxLength: 4096)
            if !bytes.isEmpty || deadline.hasPassed { return bytes }
            try? await clock.sleep(for: .milliseconds(5), tolerance: nil)
        }
    }
}
