import CUdev
import Foundation

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

extension UdevContext {
    /// Device nodes of `subsystem` (`tty`, `input`) whose USB device sits at `portPath`
    /// (the kernel name of the `usb_device` ancestor, e.g. `1-1.3`).
    public func nodes(subsystem: String, forPortPath portPath: String) throws(UdevError) -> [String] {
        guard let enumerate = udev_enumerate_new(raw) else { throw UdevError(call: "udev_enumerate_new", rawCode: -1) }
        defer { udev_enumerate_unref(enumerate) }
        var status = udev_enumerate_add_match_subsystem(enumerate, subsystem)
        guard status >= 0 else { throw UdevError(call: "udev_enumerate_add_match_subsystem", rawCode: status) }
        status = udev_enumerate_scan_devices(enumerate)
        guard status >= 0 else { throw UdevError(call: "udev_enumerate_scan_devices", rawCode: status) }
        var nodes: [String] = []
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let current = entry {
            defer { entry = udev_list_entry_get_next(current) }
            guard let path = udev_list_entry_get_name(current), let device = udev_device_new_from_syspath(raw, path) else { continue }
            defer { udev_device_unref(device) }
            // The parent is owned by `device`; it must not be unreferenced.
            guard let node = udev_device_get_devnode(device),
                let usb = udev_device_get_parent_with_subsystem_devtype(device, "usb", "usb_device"),
                let name = udev_device_get_sysname(usb), String(cString: name) == portPath
            else { continue }
            nodes.append(String(cString: node))
        }
        return nodes.sorted()
    }
}

/// A udev event: what happened to which device node, and the USB port it belongs to.
public struct UdevEvent: Sendable, Hashable {
    public let action: String
    public let subsystem: String
    public let devnode: String?
    public let portPath: String?
}

/// Watches udev events (`udev_monitor`, netlink "udev": after rules are applied) on its own
/// thread and yields them into an async stream. Ends when the monitor is released.
public final class UdevMonitor: @unchecked Sendable {
    // The watching thread owns the udev objects; `lock` tells it to stop.
    private let lock = StopFlag()
    public let events: AsyncStream<UdevEvent>

    /// - Parameter subsystems: e.g. `["tty", "usb", "input"]`.
    public init(subsystems: [String]) throws(UdevError) {
        guard let context = udev_new() else { throw UdevError(call: "udev_new", rawCode: -1) }
        guard let monitor = udev_monitor_new_from_netlink(context, "udev") else {
            udev_unref(context)
            throw UdevError(call: "udev_monitor_new_from_netlink", rawCode: -1)
        }
        for subsystem in subsystems { udev_monitor_filter_add_match_subsystem_devtype(monitor, subsystem, nil) }
        let status = udev_monitor_enable_receiving(monitor)
        guard status >= 0 else {
            udev_monitor_unref(monitor)
            udev_unref(context)
            throw UdevError(call: "udev_monitor_enable_receiving", rawCode: status)
        }
        let (stream, continuation) = AsyncStream<UdevEvent>.makeStream()
        events = stream
        let fd = udev_monitor_get_fd(monitor)
        let box = MonitorBox(context: context, monitor: monitor, continuation: continuation, lock: lock)
        let thread = Thread { box.run(fd: fd) }
        thread.name = "udev-monitor"
        thread.start()
    }

    deinit {
        lock.stop()
    }
}

/// The watching thread's state.
final class MonitorBox: @unchecked Sendable {
    // Used only by the monitor thread, which releases both when it ends.
    let context: OpaquePointer
    let monitor: OpaquePointer
    let continuation: AsyncStream<UdevEvent>.Continuation
    let lock: StopFlag

    init(context: OpaquePointer, monitor: OpaquePointer, continuation: AsyncStream<UdevEvent>.Continuation, lock: StopFlag) {
        self.context = context
        self.monitor = monitor
        self.continuation = continuation
        self.lock = lock
    }

    func run(fd: Int32) {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while lock.isRunning {
            guard poll(&poller, 1, 200) > 0, let device = udev_monitor_receive_device(monitor) else { continue }
            defer { udev_device_unref(device) }
            func text(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
            let usb = udev_device_get_parent_with_subsystem_devtype(device, "usb", "usb_device")
            let own = text(udev_device_get_devtype(device)) == "usb_device" ? device : usb
            continuation.yield(UdevEvent(
                action: text(udev_device_get_action(device)) ?? "?", subsystem: text(udev_device_get_subsystem(device)) ?? "?",
                devnode: text(udev_device_get_devnode(device)), portPath: own.flatMap { text(udev_device_get_sysname($0)) }))
        }
        continuation.finish()
        udev_monitor_unref(monitor)
        udev_unref(context)
    }
}

/// A stop flag shared between the monitor and its thread.
final class StopFlag: @unchecked Sendable {
    // Guarded by `mutex`.
    private var mutex = pthread_mutex_t()
    private var running = true
    init() { pthread_mutex_init(&mutex, nil) }
    var isRunning: Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return running
    }
    func stop() {
        pthread_mutex_lock(&mutex)
        running = false
        pthread_mutex_unlock(&mutex)
    }
}

extension UdevContext {
    /// The `serial` attribute the kernel read at enumeration for the USB device at
    /// `portPath` (`1-1.3`), with its product ID: no USB transfer needed. Nil when no device
    /// is at that port or it has no serial string.
    public func usbSerial(portPath: String) -> (serial: String, productID: UInt16?)? {
        guard let device = udev_device_new_from_subsystem_sysname(raw, "usb", portPath) else { return nil }
        defer { udev_device_unref(device) }
        guard let serial = udev_device_get_sysattr_value(device, "serial").map({ String(cString: $0) }) else { return nil }
        let productID = udev_device_get_sysattr_value(device, "idProduct").flatMap { UInt16(String(cString: $0), radix: 16) }
        return (serial, productID)
    }
}
