import Seams

/// What a DFU-mode device says about itself through standard requests: its serial string
/// (the device ID on Particle devices), the alt settings' memory-layout strings, and the DFU
/// functional descriptor. Read over the control-transfer seam (USB 2.0 section 9.4.3; DFU 1.1
/// section 4.1.3).
public struct DFUDeviceInfo: Hashable, Sendable {
    public var vendorID: UInt16
    public var productID: UInt16
    public var serial: String?
    /// Alt setting → iInterface string (the DfuSe layout).
    public var altNames: [UInt8: String]
    /// bmAttributes of the functional descriptor (0x0B on Particle bootloaders).
    public var attributes: UInt8
    public var transferSize: Int
    public var dfuVersion: UInt16
    /// String descriptor 0xFA, the Device Protection state on Device OS 6.1.2+ bootloaders
    /// (`sm=o`, `sm=p`, `sm=s`); nil when the device has none (it stalls the request).
    public var protectionText: String?

    /// Reads the descriptors.
    /// - Throws: `DFUError` with operation `descriptors`.
    public static func read(_ transport: any USBControlTransport, timeout: Duration = .seconds(2)) async throws(DFUError) -> DFUDeviceInfo {
        func get(_ type: UInt8, _ index: UInt8, length: UInt16, language: UInt16 = 0) async throws(DFUError) -> [UInt8] {
            do {
                return try await transport.control(
                    ControlSetup(requestType: 0x80, request: 6, value: UInt16(type) << 8 | UInt16(index), index: language, length: length),
                    data: [], timeout: timeout)
            } catch {
                throw DFUError(operation: "descriptors", kind: .transfer(error), device: transport.deviceName, alt: 0)
            }
        }
        func string(_ index: UInt8) async throws(DFUError) -> String? {
            guard index != 0 else { return nil }
            return USBStringDescriptor.decode(try await get(3, index, length: 255, language: 0x0409))
        }
        func malformed(_ what: String) -> DFUError {
            DFUError(operation: "descriptors", kind: .notInLayout(reason: "the device's \(what) is malformed"), device: transport.deviceName, alt: 0)
        }
        let device = try await get(1, 0, length: 18)
        guard device.count >= 18 else { throw malformed("device descriptor") }
        let head = try await get(2, 0, length: 9)
        guard head.count >= 4 else { throw malformed("configuration descriptor") }
        let total = UInt16(head[2]) | UInt16(head[3]) << 8
        let config = try await get(2, 0, length: total)
        var info = DFUDeviceInfo(
            vendorID: UInt16(device[8]) | UInt16(device[9]) << 8, productID: UInt16(device[10]) | UInt16(device[11]) << 8,
            serial: try await string(device[16]), altNames: [:], attributes: 0, transferSize: 0, dfuVersion: 0)
        var offset = 0
        while offset + 2 <= config.count {
            let length = Int(config[offset]), type = config[offset + 1]
            guard length >= 2, offset + length <= config.count else { break }
            if type == 4, length >= 9, config[offset + 5] == 0xFE, config[offset + 6] == 0x01 {
                info.altNames[config[offset + 3]] = try await string(config[offset + 8])
            } else if type == 0x21, length >= 9 {
                info.attributes = config[offset + 2]
                info.transferSize = Int(config[offset + 5]) | Int(config[offset + 6]) << 8
                info.dfuVersion = UInt16(config[offset + 7]) | UInt16(config[offset + 8]) << 8
            }
            offset += length
        }
        guard info.transferSize > 0 else { throw malformed("DFU functional descriptor") }
        info.protectionText = try? await string(0xFA)
        return info
    }
}
