import DFU
import Seams

/// GET_DESCRIPTOR (USB 2.0 section 9.4.3) for any emulated personality: device,
/// configuration, string (index 0 is the language list, US English).
enum StandardDescriptors {
    static func answer(
        _ setup: ControlSetup, device: [UInt8], configuration: [UInt8], string: (UInt8) -> String?
    ) throws(USBTransferError) -> [UInt8] {
        let type = UInt8(setup.value >> 8), index = UInt8(setup.value & 0xFF)
        let descriptor: [UInt8]
        switch type {
        case 1: descriptor = device
        case 2: descriptor = configuration
        case 3 where index == 0: descriptor = [4, 0x03, 0x09, 0x04]
        case 3:
            guard let text = string(index) else { throw .stall }
            descriptor = USBStringDescriptor.encode(text)
        default: throw .stall
        }
        return Array(descriptor.prefix(Int(setup.length)))
    }
}
