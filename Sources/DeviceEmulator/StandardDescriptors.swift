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

extension StandardDescriptors {
    /// A USB 2.0 device descriptor: 64-byte endpoint 0, strings 1-3 (manufacturer, product,
    /// serial), one configuration. `composite`: class EF/02/01 (interface association), else
    /// the class is given by the interfaces.
    static func device(vendorID: UInt16, productID: UInt16, composite: Bool) -> [UInt8] {
        let (deviceClass, subclass, proto): (UInt8, UInt8, UInt8) = composite ? (0xEF, 0x02, 0x01) : (0, 0, 0)
        return [18, 0x01, 0x00, 0x02, deviceClass, subclass, proto, 64, UInt8(vendorID & 0xFF), UInt8(vendorID >> 8),
                UInt8(productID & 0xFF), UInt8(productID >> 8), 0x00, 0x01, 1, 2, 3, 1]
    }

    /// A configuration descriptor (bus powered, `maxPower` in 2 mA units) around `body`.
    static func configuration(interfaces: UInt8, maxPower: UInt8, _ body: [UInt8]) -> [UInt8] {
        let total = 9 + body.count
        return [9, 0x02, UInt8(total & 0xFF), UInt8(total >> 8), interfaces, 1, 0, 0x80, maxPower] + body
    }

    /// A CDC ACM function on interfaces 0 (communication, interrupt notification on 0x82) and
    /// 1 (data, bulk 0x01 out and 0x81 in), with its interface association; `interfaceString`
    /// names both interfaces (0: none).
    static func cdcACM(interfaceString: UInt8 = 0) -> [UInt8] {
        let iad: [UInt8] = [8, 0x0B, 0, 2, 0x02, 0x02, 0x01, 0]
        let comm: [UInt8] = [9, 0x04, 0, 0, 1, 0x02, 0x02, 0x01, interfaceString]
        let header: [UInt8] = [5, 0x24, 0x00, 0x10, 0x01]
        let callManagement: [UInt8] = [5, 0x24, 0x01, 0x00, 1]
        let acm: [UInt8] = [4, 0x24, 0x02, 0x02]
        let union: [UInt8] = [5, 0x24, 0x06, 0, 1]
        let notify: [UInt8] = [7, 0x05, 0x82, 0x03, 8, 0, 255]
        let data: [UInt8] = [9, 0x04, 1, 0, 2, 0x0A, 0x00, 0x00, interfaceString]
        let bulkOut: [UInt8] = [7, 0x05, 0x01, 0x02, 64, 0, 0]
        let bulkIn: [UInt8] = [7, 0x05, 0x81, 0x02, 64, 0, 0]
        return iad + comm + header + callManagement + acm + union + notify + data + bulkOut + bulkIn
    }
}
