/// USB/IP wire format (Linux `Documentation/usb/usbip_protocol.rst`): big-endian fields,
/// an import handshake, then URBs (`CMD_SUBMIT`/`RET_SUBMIT`, `CMD_UNLINK`/`RET_UNLINK`).
enum USBIP {
    static let version: UInt16 = 0x0111
    static let opRequestImport: UInt16 = 0x8003
    static let opReplyImport: UInt16 = 0x0003
    static let commandSubmit: UInt32 = 1
    static let commandUnlink: UInt32 = 2
    static let returnSubmit: UInt32 = 3
    static let returnUnlink: UInt32 = 4
    /// The 48-byte header of every URB command and reply.
    static let headerSize = 48

    /// Linux errno values the kernel expects in `status`.
    enum Status: Int32 {
        case ok = 0
        case stall = -32  // EPIPE
        case timeout = -110  // ETIMEDOUT
        case noDevice = -19  // ENODEV
        case overflow = -75  // EOVERFLOW
        case io = -5  // EIO
        case reset = -104  // ECONNRESET (unlinked)
    }

    /// A `CMD_SUBMIT`.
    struct Submit {
        let seqnum: UInt32
        let devid: UInt32
        let directionIn: Bool
        let endpoint: UInt32
        let transferBufferLength: UInt32
        let setup: [UInt8]
    }

    /// The device record of an import reply.
    struct DeviceRecord {
        var path: String
        var busID: String
        var busNumber: UInt32
        var deviceNumber: UInt32
        /// 2 = full speed.
        var speed: UInt32 = 2
        var vendorID: UInt16
        var productID: UInt16
        var bcdDevice: UInt16
        var deviceClass: UInt8 = 0
        var deviceSubClass: UInt8 = 0
        var deviceProtocol: UInt8 = 0
        var configurationValue: UInt8 = 1
        var numConfigurations: UInt8 = 1
        var numInterfaces: UInt8

        var encoded: [UInt8] {
            var out = fixed(path, 256) + fixed(busID, 32)
            out.be(busNumber); out.be(deviceNumber); out.be(speed)
            out.be(vendorID); out.be(productID); out.be(bcdDevice)
            out += [deviceClass, deviceSubClass, deviceProtocol, configurationValue, numConfigurations, numInterfaces]
            return out
        }

        private func fixed(_ text: String, _ size: Int) -> [UInt8] {
            var bytes = Array(text.utf8.prefix(size - 1))
            bytes += [UInt8](repeating: 0, count: size - bytes.count)
            return bytes
        }
    }

    static func parseSubmit(_ header: [UInt8]) -> Submit {
        Submit(
            seqnum: header.be32(4), devid: header.be32(8), directionIn: header.be32(12) == 1, endpoint: header.be32(16),
            transferBufferLength: header.be32(24), setup: Array(header[40..<48]))
    }

    /// A `RET_SUBMIT`: IN data follows the header; for OUT transfers `actualLength` is the
    /// number of bytes the device took and no data follows.
    static func returnSubmit(seqnum: UInt32, status: Status, data: [UInt8], actualLength: Int? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.be(returnSubmit); out.be(seqnum); out.be(UInt32(0)); out.be(UInt32(0)); out.be(UInt32(0))
        out.be(UInt32(bitPattern: status.rawValue)); out.be(UInt32(actualLength ?? data.count))
        out.be(UInt32(0)); out.be(UInt32(0)); out.be(UInt32(0))
        out += [UInt8](repeating: 0, count: 8)
        return out + data
    }

    static func returnUnlink(seqnum: UInt32, status: Status) -> [UInt8] {
        var out: [UInt8] = []
        out.be(returnUnlink); out.be(seqnum); out.be(UInt32(0)); out.be(UInt32(0)); out.be(UInt32(0))
        out.be(UInt32(bitPattern: status.rawValue))
        return out + [UInt8](repeating: 0, count: 24)
    }
}

extension Array where Element == UInt8 {
    mutating func be(_ value: UInt32) { append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]) }
    mutating func be(_ value: UInt16) { append(contentsOf: [UInt8(value >> 8), UInt8(value & 0xFF)]) }
    func be32(_ offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }
    func be16(_ offset: Int) -> UInt16 { UInt16(self[offset]) << 8 | UInt16(self[offset + 1]) }
}
