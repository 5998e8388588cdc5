import Foundation
@testable import LibUSB
import Testing
@testable import TextFormats

/// The guard's arrivals without udevd: kernel uevents as the netlink socket delivers them
/// (shapes from `udevadm monitor --kernel --property` and the kernel's usb_dev_uevent:
/// `PRODUCT` is `vid/pid/bcdDevice` in lowercase hex without leading zeros, `BUSNUM` and
/// `DEVNUM` three decimal digits), sysfs scans, and what the bus reports from both.
@Suite struct KernelUeventTests {
    static func message(_ action: String, _ devpath: String, _ fields: [(String, String)], header: Bool = true) -> [UInt8] {
        let parts = (header ? ["\(action)@\(devpath)"] : []) + [("ACTION", action), ("DEVPATH", devpath)].map { "\($0)=\($1)" } + fields.map { "\($0)=\($1)" }
        return Array((parts.joined(separator: "\0") + "\0").utf8)
    }

    static func usbDevice(product: String = "2b04/c00d/600", bus: String = "001", address: String = "002") -> [(String, String)] {
        [("SUBSYSTEM", "usb"), ("MAJOR", "189"), ("MINOR", "1"), ("DEVNAME", "bus/usb/\(bus)/\(address)"), ("DEVTYPE", "usb_device"),
         ("PRODUCT", product), ("TYPE", "239/2/1"), ("BUSNUM", bus), ("DEVNUM", address), ("SEQNUM", "2311")]
    }

    @Test func aBoronArrivingOverUSBIPIsAUSBDevice() throws {
        let event = try #require(KernelUevent(Self.message("add", "/devices/platform/vhci_hcd.0/usb1/1-1", Self.usbDevice())))
        #expect(event.action == "add" && event.devpath == "/devices/platform/vhci_hcd.0/usb1/1-1")
        let device = try #require(event.usbDevice)
        #expect(device == KernelUevent.USBDevice(portPath: "1-1", busNumber: 1, deviceAddress: 2, vendorID: 0x2B04, productID: 0xC00D))
    }

    @Test func aDeviceBehindAHubKeepsItsWholePortPath() throws {
        let event = try #require(KernelUevent(Self.message("remove", "/devices/pci0000:00/0000:00:14.0/usb3/3-2/3-2.4", Self.usbDevice(product: "2b04/d00d/251", bus: "003", address: "017"))))
        #expect(event.usbDevice == KernelUevent.USBDevice(portPath: "3-2.4", busNumber: 3, deviceAddress: 17, vendorID: 0x2B04, productID: 0xD00D))
    }

    @Test(arguments: [
        // An interface of the device, a root hub, a tty: not a USB device.
        ("bind", "/devices/platform/vhci_hcd.0/usb1/1-1/1-1:1.0", [("SUBSYSTEM", "usb"), ("DEVTYPE", "usb_interface"), ("PRODUCT", "2b04/c00d/600")]),
        ("add", "/devices/platform/vhci_hcd.0/usb1", usbDevice(product: "1d6b/2/601", bus: "001", address: "001")),
        ("add", "/devices/platform/vhci_hcd.0/usb1/1-1/1-1:1.0/tty/ttyACM0", [("SUBSYSTEM", "tty"), ("DEVNAME", "ttyACM0")]),
        // Broken PRODUCT, bus or address.
        ("add", "/devices/x/usb1/1-1", usbDevice(product: "2b04/c00d")),
        ("add", "/devices/x/usb1/1-1", usbDevice(product: "zz04/c00d/600")),
        ("add", "/devices/x/usb1/1-1", usbDevice(bus: "300")),
        ("add", "/devices/x/usb1/1-1", usbDevice(address: "")),
    ])
    func otherEventsNameNoUSBDevice(action: String, devpath: String, fields: [(String, String)]) throws {
        let event = try #require(KernelUevent(Self.message(action, devpath, fields)))
        #expect(event.usbDevice == nil)
    }

    @Test(arguments: [
        // udevd's own messages on its group start with "libudev" and a binary header.
        Array("libudev\0".utf8) + [0xFE, 0xED, 0xCA, 0xFE] + [UInt8](repeating: 0, count: 32),
        [],
        Array("add/devices/x\0ACTION=add\0".utf8),
        Array("add@devices/x\0".utf8),
        Array("@/devices/x\0".utf8),
        Array("add@/devices/x\0ACTION=remove\0".utf8),
        Array("add@/devices/x\0DEVPATH=/devices/y\0".utf8),
        Array("add@/devices/x\0NOEQUALS\0".utf8),
        Array("add@/devices/x\0=value\0".utf8),
        Array("add@/devices/x\0KEY=\u{FF}\0".utf8).map { $0 == 0xC3 ? 0xFF : $0 },
        [UInt8](repeating: 0x41, count: KernelUevent.maximumLength + 1),
    ])
    func malformedMessagesAreRefused(bytes: [UInt8]) {
        #expect(KernelUevent(bytes) == nil)
    }

    @Test(arguments: [("1-1", true), ("1-1.3", true), ("12-1.2.3.4.5.6.7", true), ("usb1", false), ("1-1:1.0", false), ("1-", false),
                      ("-1", false), ("1-1..2", false), ("1-1.2.3.4.5.6.7.8", false), ("1-1.1234", false), ("a-1", false), ("1-١", false)])
    func portPaths(name: String, valid: Bool) {
        #expect(KernelUevent.isPortPath(name) == valid)
    }

    @Test func sysfsIsReadWithoutUdev() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sysfs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        func device(_ name: String, _ attributes: [String: String]) throws {
            let folder = root.appendingPathComponent("bus/usb/devices/\(name)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (key, value) in attributes { try Data((value + "\n").utf8).write(to: folder.appendingPathComponent(key)) }
        }
        try device("1-1", ["idVendor": "2b04", "idProduct": "c00d", "busnum": "1", "devnum": "5"])
        try device("1-1.2", ["idVendor": "2b04", "idProduct": "d00d", "busnum": "1", "devnum": "7"])
        try device("usb1", ["idVendor": "1d6b", "idProduct": "0002", "busnum": "1", "devnum": "1"])
        try device("1-1:1.0", ["bInterfaceClass": "02"])
        try device("1-3", ["idVendor": "2b04"])
        let found = SysfsUSB.devices(root: root.path)
        #expect(found.map(\.portPath) == ["1-1", "1-1.2"])
        #expect(found.first?.deviceNode == "/dev/bus/usb/001/005")
        #expect(SysfsUSB.device(portPath: "1-1.2", root: root.path)?.productID == 0xD00D)
        #expect(SysfsUSB.device(portPath: "../../etc", root: root.path) == nil)
    }

    static func summary(_ port: String, address: UInt8, product: UInt16 = 0xC00D, vendor: UInt16 = 0x2B04) -> USBDeviceSummary {
        USBDeviceSummary(busNumber: 1, deviceAddress: address, portPath: port, vendorID: vendor, productID: product)
    }

    @Test func theTrackerReportsEachChangeOnce() {
        var tracker = ArrivalTracker(vendorID: 0x2B04)
        let boron = Self.summary("1-1", address: 2), other = Self.summary("1-2", address: 3, vendor: 0x1D6B)
        #expect(tracker.rescan([boron, other]) == [.arrived(boron)])
        // The socket listened before the scan: the same arrival heard again is not new.
        #expect(tracker.heard("add", boron) == [])
        #expect(tracker.heard("bind", boron) == [])
        #expect(tracker.heard("add", other) == [])
        // A mode switch: DFU at the same port with a new address; the remove comes late.
        let dfu = Self.summary("1-1", address: 4, product: 0xD00D)
        #expect(tracker.heard("add", dfu) == [.left(boron), .arrived(dfu)])
        #expect(tracker.heard("remove", boron) == [])
        #expect(tracker.heard("remove", dfu) == [.left(dfu)])
        #expect(tracker.heard("remove", dfu) == [])
    }

    @Test func aRescanAfterLostMessagesCatchesUp() {
        var tracker = ArrivalTracker(vendorID: 0x2B04)
        let a = Self.summary("1-1", address: 2), b = Self.summary("1-2", address: 3), a2 = Self.summary("1-1", address: 9)
        _ = tracker.rescan([a, b])
        // While the buffer overflowed: b left, a re-enumerated, c arrived.
        let c = Self.summary("1-3", address: 10)
        #expect(tracker.rescan([a2, c]) == [.left(a), .left(b), .arrived(a2), .arrived(c)])
        #expect(tracker.rescan([a2, c]) == [])
    }

    @Test func theKernelSocketOpensHere() throws {
        // Any process may listen to the kernel's uevent group; a machine where the socket
        // cannot open is a finding the doctor reports, not a reason to skip.
        let problem = LibUSBBus.kernelUeventsProblem()
        #expect(problem == nil, "\(problem?.description ?? "")")
        let bus = try LibUSBBus(logLevel: .none, arrivals: .kernel)
        _ = try bus.watch(vendorID: 0x2B04)
    }
}
