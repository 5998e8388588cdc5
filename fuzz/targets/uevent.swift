import TextFormats

/// Kernel uevents as the netlink socket delivers them (the guard's arrivals without udevd):
/// a message parses or is refused, never crashes; a USB device it names has a sysfs port path.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUevent(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    guard let event = KernelUevent(bytes) else { return 0 }
    guard bytes.count <= KernelUevent.maximumLength, event.devpath.hasPrefix("/") else { fatalError("accepted past its bounds") }
    if let device = event.usbDevice, !KernelUevent.isPortPath(device.portPath) { fatalError("a device named \(device.portPath)") }
    return 0
}
