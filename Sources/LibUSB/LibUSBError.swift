import CLibUSB
#if canImport(Glibc)
import Glibc
#endif

/// A libusb call that failed, with the call, the device (when there is one) and the raw
/// `libusb_error` code.
public struct LibUSBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The C function, e.g. `libusb_init`.
    public let call: String
    /// The device's port path or VID:PID, when the call was about one device.
    public let device: String?
    /// The raw `libusb_error` value.
    public let rawCode: Int32

    /// A stable code: `USB-` and libusb's error name without its prefix.
    public var code: String {
        let name = String(cString: libusb_error_name(rawCode))
        return "USB-" + (name.hasPrefix("LIBUSB_ERROR_") ? String(name.dropFirst("LIBUSB_ERROR_".count)) : name)
            .replacingOccurrences(of: "_", with: "-")
    }

    public var description: String {
        let what = String(cString: libusb_strerror(rawCode))
        let on = device.map { " on \($0)" } ?? ""
        let advice: String
        switch rawCode {
        case LIBUSB_ERROR_ACCESS.rawValue:
            advice = " Install the station's udev rules (see udev-rules/README.md) and replug the device, or run as a member of the plugdev group."
        case LIBUSB_ERROR_NO_DEVICE.rawValue:
            advice = " The device was unplugged or re-enumerated; it will be found again when it reappears."
        case LIBUSB_ERROR_BUSY.rawValue:
            advice = " Another program holds the device; close particle-cli, dfu-util or ModemManager."
        default:
            advice = ""
        }
        return "\(call)\(on) failed: \(what) (\(code), \(rawCode)).\(advice)"
    }

    /// A system call the bus makes itself (the uevent socket, opening a device node): the
    /// errno mapped to the libusb code that means the same, and named in `call`.
    static func system(_ call: String, device: String? = nil, errno number: Int32) -> LibUSBError {
        let code: libusb_error
        switch number {
        case EACCES, EPERM: code = LIBUSB_ERROR_ACCESS
        case ENOENT: code = LIBUSB_ERROR_NOT_FOUND
        case ENODEV, ENXIO: code = LIBUSB_ERROR_NO_DEVICE
        case EBUSY: code = LIBUSB_ERROR_BUSY
        case ENOMEM, ENOBUFS: code = LIBUSB_ERROR_NO_MEM
        default: code = LIBUSB_ERROR_IO
        }
        return LibUSBError(call: "\(call) (errno \(number): \(String(cString: strerror(number))))", device: device, rawCode: code.rawValue)
    }

    /// The choke point every libusb return code passes.
    @discardableResult
    static func check(_ result: Int32, _ call: String, device: String? = nil) throws(LibUSBError) -> Int32 {
        guard result >= 0 else { throw LibUSBError(call: call, device: device, rawCode: result) }
        return result
    }
}

private extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
