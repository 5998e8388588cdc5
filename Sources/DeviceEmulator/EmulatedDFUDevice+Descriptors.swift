import DFU
import Seams

extension EmulatedDFUDevice {
    /// bcdDevice of Particle DFU bootloaders (Gen 3 `usbd_device.cpp`: 0x0251; Gen 2 uses
    /// the same value here, unconfirmed).
    static var bcdDevice: UInt16 { 0x0251 }

    /// The 18-byte device descriptor.
    public var deviceDescriptor: [UInt8] {
        let pid = configuration.platform.usb?.dfuProductID ?? 0
        return [18, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 64, 0x04, 0x2B, UInt8(pid & 0xFF), UInt8(pid >> 8),
                UInt8(Self.bcdDevice & 0xFF), UInt8(Self.bcdDevice >> 8), 1, 2, 3, 1]
    }

    /// Configuration, one DFU interface descriptor per alt setting (class 0xFE/0x01/0x02, no
    /// endpoints) and the DFU functional descriptor: bmAttributes 0x0B (will detach, can
    /// upload, can download; not manifestation tolerant), wDetachTimeOut 255,
    /// wTransferSize 4096, bcdDFUVersion 0x011A.
    public var configurationDescriptor: [UInt8] {
        var interfaces: [UInt8] = []
        for alt in layoutStrings.indices {
            interfaces += [9, 0x04, 0, UInt8(alt), 0, 0xFE, 0x01, 0x02, UInt8(4 + alt)]
        }
        let functional: [UInt8] = [9, 0x21, 0x0B, 255, 0, 0x00, 0x10, 0x1A, 0x01]
        let total = 9 + interfaces.count + functional.count
        return [9, 0x02, UInt8(total & 0xFF), UInt8(total >> 8), 1, 1, 0, 0x80, 50] + interfaces + functional
    }

    /// String descriptors: 1 manufacturer, 2 product, 3 serial (device ID, lowercase),
    /// 4... alt settings, 0xFA protection state (`sm=o`/`sm=p`/`sm=s`) when 0xFA is listed.
    public func string(index: UInt8) -> String? {
        switch index {
        case 1: return "Particle"
        case 2: return configuration.platform.usb?.dfuProductString
        case 3: return configuration.deviceID
        case 0xFA where configuration.commands.contains(0xFA): return "sm=" + String(configuration.protection.rawValue.prefix(1))
        default:
            let alt = Int(index) - 4
            return layoutStrings.indices.contains(alt) ? layoutStrings[alt] : nil
        }
    }

    func standardIn(_ setup: ControlSetup) throws(USBTransferError) -> [UInt8] {
        guard setup.request == 6 else { throw .stall }  // GET_DESCRIPTOR
        return try StandardDescriptors.answer(setup, device: deviceDescriptor, configuration: configurationDescriptor) { string(index: $0) }
    }

    func standardOut(_ setup: ControlSetup) throws(USBTransferError) -> [UInt8] {
        switch setup.request {
        case 11:  // SET_INTERFACE
            guard setup.index == 0, Int(setup.value) < layoutStrings.count else { throw .stall }
            alt = Int(setup.value)
            state = .idle
            status = .ok
            pending = nil
            return []
        case 9:  // SET_CONFIGURATION
            return []
        default:
            throw .stall
        }
    }
}
