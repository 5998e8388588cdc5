import CLibUSB
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// libusb's version and capabilities, as the linked library reports them.
public enum LibUSBLibrary {
    /// `libusb_get_version()`, e.g. "1.0.26.11724".
    public static var version: String {
        let v = libusb_get_version().pointee
        let rc = v.rc.map { String(cString: $0) } ?? ""
        return "\(v.major).\(v.minor).\(v.micro).\(v.nano)\(rc)"
    }

    /// `libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)`.
    public static var supportsHotplug: Bool {
        libusb_has_capability(UInt32(LIBUSB_CAP_HAS_HOTPLUG.rawValue)) != 0
    }
}

/// A USB device as enumeration sees it, named by its bus-port path.
public struct USBDeviceSummary: Sendable, Hashable {
    public let busNumber: UInt8
    public let deviceAddress: UInt8
    /// `BUS-PORT.PORT...`, as Linux names it in sysfs (e.g. `1-1.3`); stable across
    /// re-enumeration as long as the device stays in the same hub port.
    public let portPath: String
    public let vendorID: UInt16
    public let productID: UInt16

    /// `/dev/bus/usb/BBB/DDD`, the node libusb opens.
    public var deviceNode: String {
        func pad(_ value: UInt8) -> String {
            let digits = String(value)
            return String(repeating: "0", count: 3 - digits.count) + digits
        }
        return "/dev/bus/usb/\(pad(busNumber))/\(pad(deviceAddress))"
    }
}

/// One libusb context. Not shared between threads without the owner's lock: every method is
/// synchronous and may block, so call it from a dedicated thread or a synchronous command.
public final class LibUSBContext: @unchecked Sendable {
    // libusb contexts are thread-safe for enumeration, open and the event loop (libusb
    // documentation, "Multi-threaded applications"); the pointer never changes.
    let raw: OpaquePointer

    /// libusb's log levels (`LIBUSB_LOG_LEVEL_*`).
    public enum LogLevel: Int32, Sendable {
        case none = 0, error, warning, info, debug
    }

    /// `libusb_init` then `libusb_set_option(LIBUSB_OPTION_LOG_LEVEL)`.
    /// - Throws: `LibUSBError` naming `libusb_init` (no usbfs, no permission to it, ...).
    public init(logLevel: LogLevel = .warning) throws(LibUSBError) {
        var context: OpaquePointer?
        try LibUSBError.check(libusb_init(&context), "libusb_init")
        guard let context else { throw LibUSBError(call: "libusb_init", device: nil, rawCode: LIBUSB_ERROR_OTHER.rawValue) }
        raw = context
        try LibUSBError.check(cshim_libusb_set_log_level(context, logLevel.rawValue), "libusb_set_option(LOG_LEVEL)")
    }

    deinit { libusb_exit(raw) }

    /// Every device on every bus (`libusb_get_device_list`).
    public func devices() throws(LibUSBError) -> [USBDeviceSummary] {
        try withDeviceList { list in list.compactMap { Self.summary(of: $0) } }
    }

    /// Opens the device at `portPath` (`libusb_open`); nil when no device is there.
    func open(portPath: String) throws(LibUSBError) -> (DevicePointer, USBDeviceSummary)? {
        try withDeviceList { list throws(LibUSBError) in
            for device in list {
                guard let summary = Self.summary(of: device), summary.portPath == portPath else { continue }
                var handle: OpaquePointer?
                try LibUSBError.check(libusb_open(device, &handle), "libusb_open", device: portPath)
                guard let handle else { return nil }
                return (DevicePointer(raw: handle), summary)
            }
            return nil
        }
    }

    /// Opens the device at `portPath` through its `/dev/bus/usb` node as sysfs names it now
    /// (`libusb_wrap_sys_device`): for devices libusb's own list never learned of (udevd not
    /// running); nil when no device is there.
    func wrap(portPath: String, sysfs: String = "/sys") throws(LibUSBError) -> (DevicePointer, USBDeviceSummary)? {
        guard let summary = SysfsUSB.device(portPath: portPath, root: sysfs) else { return nil }
        let fd = Glibc.open(summary.deviceNode, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw LibUSBError.system("open(\(summary.deviceNode))", device: portPath, errno: errno) }
        var handle: OpaquePointer?
        let status = libusb_wrap_sys_device(raw, Int(fd), &handle)
        guard status == LIBUSB_SUCCESS.rawValue, let handle else {
            close(fd)
            throw LibUSBError(call: "libusb_wrap_sys_device", device: portPath, rawCode: status == 0 ? LIBUSB_ERROR_OTHER.rawValue : status)
        }
        return (DevicePointer(raw: handle, ownedDescriptor: fd), summary)
    }

    private func withDeviceList<T>(_ body: ([OpaquePointer]) throws(LibUSBError) -> T) throws(LibUSBError) -> T {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = try LibUSBError.check(Int32(truncatingIfNeeded: libusb_get_device_list(raw, &list)), "libusb_get_device_list")
        guard let list else { return try body([]) }
        defer { libusb_free_device_list(list, 1) }
        return try body((0..<Int(count)).compactMap { list[$0] })
    }

    /// Bus, address, port path and IDs of a device, without opening it.
    static func summary(of device: OpaquePointer) -> USBDeviceSummary? {
        var descriptor = libusb_device_descriptor()
        guard libusb_get_device_descriptor(device, &descriptor) == 0 else { return nil }
        let bus = libusb_get_bus_number(device)
        var ports = [UInt8](repeating: 0, count: 7)
        let depth = libusb_get_port_numbers(device, &ports, Int32(ports.count))
        let path = depth > 0 ? "\(bus)-" + ports.prefix(Int(depth)).map(String.init).joined(separator: ".") : "usb\(bus)"
        return USBDeviceSummary(
            busNumber: bus, deviceAddress: libusb_get_device_address(device), portPath: path,
            vendorID: descriptor.idVendor, productID: descriptor.idProduct)
    }
}

/// A `libusb_device_handle` pointer that crosses to the device thread; it is used only there.
struct DevicePointer: @unchecked Sendable {
    let raw: OpaquePointer
    /// The device node's descriptor when the handle wraps one (`libusb_wrap_sys_device`):
    /// libusb leaves it open, so it is closed after `libusb_close`.
    var ownedDescriptor: Int32? = nil
}
