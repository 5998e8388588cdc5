/// One kernel uevent as the netlink socket delivers it: `ACTION@DEVPATH`, then
/// `KEY=VALUE` fields, each ended by a NUL. Pure: parsing reads nothing else.
public struct KernelUevent: Sendable, Hashable {
    public let action: String
    public let devpath: String
    public let properties: [String: String]

    /// Longer messages are refused (the kernel's own limit is 2048 bytes of fields).
    public static let maximumLength = 16_384

    /// Nil for anything that is not a well-formed kernel uevent (udevd's own `libudev`
    /// messages, a header without `@`, fields that contradict the header, bad UTF-8).
    public init?(_ bytes: [UInt8]) {
        guard !bytes.isEmpty, bytes.count <= Self.maximumLength else { return nil }
        let fields = bytes.split(separator: 0, omittingEmptySubsequences: true)
        guard let header = fields.first, let at = header.firstIndex(of: UInt8(ascii: "@")),
            let action = String(validating: header[header.startIndex..<at], as: UTF8.self),
            let devpath = String(validating: header[(at + 1)...], as: UTF8.self),
            !action.isEmpty, devpath.hasPrefix("/")
        else { return nil }
        var properties: [String: String] = [:]
        for field in fields.dropFirst() {
            guard let equals = field.firstIndex(of: UInt8(ascii: "=")), equals > field.startIndex,
                let key = String(validating: field[field.startIndex..<equals], as: UTF8.self),
                let value = String(validating: field[(equals + 1)...], as: UTF8.self)
            else { return nil }
            properties[key] = value
        }
        if let stated = properties["ACTION"], stated != action { return nil }
        if let stated = properties["DEVPATH"], stated != devpath { return nil }
        self.action = action
        self.devpath = devpath
        self.properties = properties
    }

    /// The USB device this event is about (`SUBSYSTEM=usb`, `DEVTYPE=usb_device`, a port
    /// path such as `1-1.3` as its name, `PRODUCT=vid/pid/bcd`, `BUSNUM`, `DEVNUM`); nil for
    /// interfaces, root hubs and other subsystems.
    public var usbDevice: USBDevice? {
        guard properties["SUBSYSTEM"] == "usb", properties["DEVTYPE"] == "usb_device",
            let name = devpath.split(separator: "/").last.map(String.init), Self.isPortPath(name),
            let product = properties["PRODUCT"]?.split(separator: "/", omittingEmptySubsequences: false), product.count == 3,
            let vendorID = UInt16(product[0], radix: 16), let productID = UInt16(product[1], radix: 16),
            let bus = properties["BUSNUM"].flatMap({ UInt8($0) }), let address = properties["DEVNUM"].flatMap({ UInt8($0) })
        else { return nil }
        return USBDevice(portPath: name, busNumber: bus, deviceAddress: address, vendorID: vendorID, productID: productID)
    }

    /// A USB device as a uevent names it.
    public struct USBDevice: Sendable, Hashable {
        /// Its sysfs name, `BUS-PORT[.PORT...]` (`1-1.3`).
        public let portPath: String
        public let busNumber: UInt8
        public let deviceAddress: UInt8
        public let vendorID: UInt16
        public let productID: UInt16
    }

    /// `BUS-PORT[.PORT...]`: a USB device's name in sysfs (not a root hub's `usbN`, not an
    /// interface's `1-1:1.0`); at most seven ports deep, as USB allows.
    public static func isPortPath(_ name: String) -> Bool {
        let parts = name.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, (1...3).contains(parts[0].count), parts[0].allSatisfy(\.isASCIIDigit) else { return false }
        let ports = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return (1...7).contains(ports.count) && ports.allSatisfy { (1...3).contains($0.count) && $0.allSatisfy(\.isASCIIDigit) }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

