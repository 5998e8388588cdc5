import CLibUSB
import Seams

/// An open USB device: control transfers through usbfs, on the device's own thread.
/// Implements the control-transfer seam the DFU engine and control requests use.
public final class LibUSBTransport: USBControlTransport, @unchecked Sendable {
    // `handle` is used only on `thread`. The context is held so that `libusb_exit` can never
    // run before this handle is closed.
    private let handle: DevicePointer
    private let thread: DeviceThread
    private let context: LibUSBContext
    public let deviceName: String
    public let device: USBDeviceSummary

    init(handle: DevicePointer, device: USBDeviceSummary, thread: DeviceThread, context: LibUSBContext) {
        self.handle = handle
        self.context = context
        self.device = device
        self.thread = thread
        deviceName = "\(device.portPath) (\(device.vidPID))"
    }

    deinit {
        let handle = self.handle, context = self.context
        thread.enqueue {
            libusb_close(handle.raw)
            withExtendedLifetime(context) {}
        }
        thread.stop()
    }

    public func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
        let handle = self.handle
        let milliseconds = UInt32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let result: Result<[UInt8], USBTransferError> = await thread.run {
            var buffer = setup.isIn ? [UInt8](repeating: 0, count: Int(setup.length)) : data
            let count = buffer.withUnsafeMutableBufferPointer { pointer in
                libusb_control_transfer(handle.raw, setup.requestType, setup.request, setup.value, setup.index, pointer.baseAddress, UInt16(pointer.count), milliseconds)
            }
            guard count >= 0 else { return .failure(Self.map(count)) }
            return .success(setup.isIn ? Array(buffer.prefix(Int(count))) : [])
        }
        return try result.get()
    }

    /// `libusb_claim_interface` then, when asked, `libusb_set_interface_alt_setting`.
    public func claim(interface: Int32, alternateSetting: Int32? = nil) async throws(LibUSBError) {
        let handle = self.handle, name = deviceName
        let result: Result<Void, LibUSBError> = await thread.run {
            do throws(LibUSBError) {
                try LibUSBError.check(libusb_claim_interface(handle.raw, interface), "libusb_claim_interface", device: name)
                if let alternateSetting {
                    try LibUSBError.check(libusb_set_interface_alt_setting(handle.raw, interface, alternateSetting), "libusb_set_interface_alt_setting", device: name)
                }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// A string descriptor in ASCII (`libusb_get_string_descriptor_ascii`).
    public func string(index: UInt8) async throws(LibUSBError) -> String {
        let handle = self.handle, name = deviceName
        let result: Result<String, LibUSBError> = await thread.run {
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = libusb_get_string_descriptor_ascii(handle.raw, index, &buffer, Int32(buffer.count))
            guard count >= 0 else { return .failure(LibUSBError(call: "libusb_get_string_descriptor_ascii", device: name, rawCode: count)) }
            return .success(String(decoding: buffer.prefix(Int(count)), as: UTF8.self))
        }
        return try result.get()
    }

    /// Maps libusb's transfer errors to the seam's.
    static func map(_ code: Int32) -> USBTransferError {
        switch code {
        case LIBUSB_ERROR_PIPE.rawValue: .stall
        case LIBUSB_ERROR_TIMEOUT.rawValue: .timeout
        case LIBUSB_ERROR_NO_DEVICE.rawValue: .noDevice
        case LIBUSB_ERROR_OVERFLOW.rawValue: .overflow
        default: .io(call: "libusb_control_transfer", code: code)
        }
    }
}

extension USBDeviceSummary {
    public var vidPID: String {
        func hex(_ v: UInt16) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 4 - s.count) + s
        }
        return "\(hex(vendorID)):\(hex(productID))"
    }
}
