import CShims
import Foundation
import TextFormats
#if canImport(Glibc)
import Glibc
#endif

/// How the bus hears devices arrive and leave.
public enum ArrivalSource: String, Sendable, Codable, CaseIterable {
    /// libusb's hotplug, which Debian's libusb builds on udev: it hears only the events udevd
    /// rebroadcasts, so it is deaf while udevd does not run.
    case udev
    /// The kernel's own uevents (netlink, `NETLINK_KOBJECT_UEVENT`), read by the station;
    /// devices are opened through their `/dev/bus/usb` node (`libusb_wrap_sys_device`), as
    /// libusb's own device list never learns of them.
    case kernel

    /// How `station doctor` and the start-up line name it.
    public var description: String {
        switch self {
        case .udev: "libusb hotplug (udev events)"
        case .kernel: "the kernel's uevents over netlink (udevd is not running)"
        }
    }
}

/// USB devices as sysfs lists them (`/sys/bus/usb/devices`), read without libudev or udevd.
public enum SysfsUSB {
    /// `BUS-PORT[.PORT...]`: a device's name in sysfs (not a root hub's `usbN`, not an
    /// interface's `1-1:1.0`).
    /// Every USB device in sysfs now.
    public static func devices(root: String = "/sys") -> [USBDeviceSummary] {
        let folder = root + "/bus/usb/devices"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        return names.filter(KernelUevent.isPortPath).sorted().compactMap { device(portPath: $0, root: root) }
    }

    /// The device at a port path now, from its sysfs attributes; nil when none is there.
    public static func device(portPath: String, root: String = "/sys") -> USBDeviceSummary? {
        guard KernelUevent.isPortPath(portPath) else { return nil }
        let folder = root + "/bus/usb/devices/" + portPath + "/"
        func attribute(_ name: String) -> String? {
            (try? String(contentsOfFile: folder + name, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let vendorID = attribute("idVendor").flatMap({ UInt16($0, radix: 16) }),
            let productID = attribute("idProduct").flatMap({ UInt16($0, radix: 16) }),
            let bus = attribute("busnum").flatMap({ UInt8($0) }), let address = attribute("devnum").flatMap({ UInt8($0) })
        else { return nil }
        return USBDeviceSummary(busNumber: bus, deviceAddress: address, portPath: portPath, vendorID: vendorID, productID: productID)
    }
}

extension KernelUevent {
    /// The USB device this event is about, as the bus names devices.
    var usbSummary: USBDeviceSummary? {
        usbDevice.map { USBDeviceSummary(busNumber: $0.busNumber, deviceAddress: $0.deviceAddress, portPath: $0.portPath, vendorID: $0.vendorID, productID: $0.productID) }
    }
}

/// The kernel's USB arrivals and departures of one vendor, as bus events, on a thread of
/// its own (the socket read blocks). The devices present first (a sysfs scan made after the
/// socket listens, so nothing falls between the two), then changes; when the kernel says it
/// dropped messages (a full buffer), sysfs is scanned again and the difference reported, so
/// no arrival is lost.
final class KernelUeventMonitor: Sendable {
    private let fd: Int32
    private let running = RunFlag()

    /// Opens the socket.
    /// - Throws: `LibUSBError` naming the socket call, with `-errno` as its raw code.
    init() throws(LibUSBError) {
        let fd = cshim_uevent_open()
        guard fd >= 0 else { throw LibUSBError.system("socket(NETLINK_KOBJECT_UEVENT)", errno: -fd) }
        self.fd = fd
    }

    deinit { running.value = false }

    func start(vendorID: UInt16, sysfs: String = "/sys", into continuation: AsyncStream<USBBusEvent>.Continuation) {
        let fd = self.fd, running = self.running
        let thread = Thread {
            var tracker = ArrivalTracker(vendorID: vendorID)
            for event in tracker.rescan(SysfsUSB.devices(root: sysfs)) { continuation.yield(event) }
            var buffer = [UInt8](repeating: 0, count: KernelUevent.maximumLength)
            while running.value {
                let count = buffer.withUnsafeMutableBytes { cshim_uevent_receive(fd, $0.baseAddress, UInt($0.count), 200) }
                if count == -Int(ENOBUFS) {
                    for event in tracker.rescan(SysfsUSB.devices(root: sysfs)) { continuation.yield(event) }
                } else if count < 0 {
                    usleep(100_000)
                } else if count > 0, let event = KernelUevent(Array(buffer.prefix(count))), let device = event.usbSummary {
                    for change in tracker.heard(event.action, device) { continuation.yield(change) }
                }
            }
            close(fd)
            continuation.finish()
        }
        thread.name = "kernel-uevents"
        thread.start()
    }
}

/// Which devices of one vendor are where, as the kernel's events and sysfs scans tell it;
/// each answer is the bus events that bring a listener up to date. Pure.
struct ArrivalTracker {
    let vendorID: UInt16
    private(set) var known: [String: USBDeviceSummary] = [:]

    init(vendorID: UInt16) { self.vendorID = vendorID }

    /// A uevent's action for a device: `add` (an arrival; a new device at a known port means
    /// the old one left first), `remove`; other actions (`bind`, `change`) change nothing.
    mutating func heard(_ action: String, _ device: USBDeviceSummary) -> [USBBusEvent] {
        guard device.vendorID == vendorID else { return [] }
        switch action {
        case "add":
            let old = known[device.portPath]
            guard old != device else { return [] }
            known[device.portPath] = device
            return (old.map { [.left($0)] } ?? []) + [.arrived(device)]
        case "remove":
            // A remove names the device that left; one already replaced is not reported twice.
            guard let old = known[device.portPath], old.deviceAddress == device.deviceAddress, old.busNumber == device.busNumber else { return [] }
            known[device.portPath] = nil
            return [.left(old)]
        default:
            return []
        }
    }

    /// Every device present now (a sysfs scan): departures of those gone or replaced, then
    /// arrivals of those new, in port order.
    mutating func rescan(_ devices: [USBDeviceSummary]) -> [USBBusEvent] {
        var now: [String: USBDeviceSummary] = [:]
        for device in devices where device.vendorID == vendorID { now[device.portPath] = device }
        var events: [USBBusEvent] = []
        for (port, old) in known.sorted(by: { $0.key < $1.key }) where now[port] != old {
            events.append(.left(old))
            known[port] = nil
        }
        for (port, device) in now.sorted(by: { $0.key < $1.key }) where known[port] == nil {
            events.append(.arrived(device))
            known[port] = device
        }
        return events
    }
}
