import CUdev

/// A libudev call that failed.
public struct UdevError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The C function, e.g. `udev_new`.
    public let call: String
    public let rawCode: Int32

    public var code: String { "UDEV-FAILED" }
    public var description: String {
        "\(call) failed (\(rawCode)): libudev cannot read the device database. Check that /sys is mounted and systemd-udevd is installed."
    }
}

/// A USB device as udev knows it.
public struct UdevUSBDevice: Sendable, Hashable {
    /// `/sys/devices/...`.
    public let syspath: String
    /// The kernel name, which is the port path for USB devices (`1-1.3`).
    public let sysname: String
    /// `/dev/bus/usb/BBB/DDD`.
    public let devnode: String?
    public let vendorID: UInt16?
    public let productID: UInt16?
    public let serial: String?
    public let product: String?
}

/// One libudev context. Synchronous; not shared between threads.
public final class UdevContext {
    private let raw: OpaquePointer

    /// `udev_new()`.
    public init() throws(UdevError) {
        guard let context = udev_new() else { throw UdevError(call: "udev_new", rawCode: -1) }
        raw = context
    }

    deinit { udev_unref(raw) }

    /// USB devices (`DEVTYPE=usb_device`), optionally only those of one vendor.
    public func usbDevices(vendorID: UInt16? = nil) throws(UdevError) -> [UdevUSBDevice] {
        guard let enumerate = udev_enumerate_new(raw) else { throw UdevError(call: "udev_enumerate_new", rawCode: -1) }
        defer { udev_enumerate_unref(enumerate) }
        var status = udev_enumerate_add_match_subsystem(enumerate, "usb")
        guard status >= 0 else { throw UdevError(call: "udev_enumerate_add_match_subsystem", rawCode: status) }
        status = udev_enumerate_add_match_property(enumerate, "DEVTYPE", "usb_device")
        guard status >= 0 else { throw UdevError(call: "udev_enumerate_add_match_property", rawCode: status) }
        if let vendorID {
            let hex = String(vendorID, radix: 16)
            status = udev_enumerate_add_match_sysattr(enumerate, "idVendor", String(repeating: "0", count: 4 - hex.count) + hex)
            guard status >= 0 else { throw UdevError(call: "udev_enumerate_add_match_sysattr", rawCode: status) }
        }
        status = udev_enumerate_scan_devices(enumerate)
        guard status >= 0 else { throw UdevError(call: "udev_enumerate_scan_devices", rawCode: status) }

        var result: [UdevUSBDevice] = []
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let current = entry {
            defer { entry = udev_list_entry_get_next(current) }
            guard let path = udev_list_entry_get_name(current),
                let device = udev_device_new_from_syspath(raw, path)
            else { continue }
            defer { udev_device_unref(device) }
            func attribute(_ name: String) -> String? {
                udev_device_get_sysattr_value(device, name).map { String(cString: $0) }
            }
            result.append(UdevUSBDevice(
                syspath: String(cString: path),
                sysname: udev_device_get_sysname(device).map { String(cString: $0) } ?? "",
                devnode: udev_device_get_devnode(device).map { String(cString: $0) },
                vendorID: attribute("idVendor").flatMap { UInt16($0, radix: 16) },
                productID: attribute("idProduct").flatMap { UInt16($0, radix: 16) },
                serial: attribute("serial"),
                product: attribute("product")))
        }
        return result
    }
}
