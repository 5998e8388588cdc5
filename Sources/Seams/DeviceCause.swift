/// Why a device-facing call failed, as a type the station decides on (never by matching an
/// error's text): the device is gone, it refused (STALL), it did not answer in time, it
/// broke the protocol, this user may not open it, or something else.
public enum DeviceCause: String, Hashable, Sendable, CaseIterable {
    /// Unplugged, reset or re-enumerating: the only cause that means the device left.
    case noDevice = "no-device"
    /// The device refused the request: a device fault (or an unsupported request), not an unplug.
    case stall
    /// No answer in time: a device fault, not an unplug.
    case timeout
    /// The device answered something the protocol does not allow.
    case protocolViolation = "protocol"
    /// The operating system refused access (permissions, another process holds it).
    case access
    case other
}

/// An error from talking to a device, with its typed cause.
public protocol DeviceFacingError: Error {
    var cause: DeviceCause { get }
}

extension DeviceCause {
    /// The cause of any error: its own when it is device-facing, `.other` otherwise.
    public static func of(_ error: any Error) -> DeviceCause {
        (error as? any DeviceFacingError)?.cause ?? .other
    }
}

extension USBTransferError: DeviceFacingError {
    public var cause: DeviceCause {
        switch self {
        case .stall: .stall
        case .timeout: .timeout
        case .noDevice: .noDevice
        case .overflow, .replayMismatch: .protocolViolation
        // libusb's LIBUSB_ERROR_ACCESS (-3) and LIBUSB_ERROR_BUSY (-6).
        case .io(_, let code): code == -3 || code == -6 ? .access : .other
        }
    }
}

extension ByteStreamError: DeviceFacingError {
    public var cause: DeviceCause {
        switch self {
        case .closed: .noDevice
        // ENODEV, ENXIO, EIO after an unplug; EACCES, EPERM, EBUSY.
        case .io(_, _, let code): code == 19 || code == 6 || code == 5 ? .noDevice : code == 13 || code == 1 || code == 16 ? .access : .other
        }
    }
}
