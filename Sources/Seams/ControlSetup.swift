/// The setup packet of a USB control transfer (USB 2.0 section 9.3), as a value.
public struct ControlSetup: Hashable, Sendable, CustomStringConvertible {
    /// `bmRequestType`: bit 7 direction (1 = device to host), bits 6-5 type, 4-0 recipient.
    public var requestType: UInt8
    /// `bRequest`.
    public var request: UInt8
    /// `wValue`.
    public var value: UInt16
    /// `wIndex`.
    public var index: UInt16
    /// `wLength`: bytes sent (OUT) or the most bytes accepted (IN).
    public var length: UInt16

    public init(requestType: UInt8, request: UInt8, value: UInt16, index: UInt16, length: UInt16) {
        self.requestType = requestType
        self.request = request
        self.value = value
        self.index = index
        self.length = length
    }

    /// Device to host (IN).
    public var isIn: Bool { requestType & 0x80 != 0 }

    public var description: String {
        func hex<T: BinaryInteger>(_ v: T, _ digits: Int) -> String {
            let s = String(v, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, digits - s.count)) + s
        }
        return "bmRequestType \(hex(requestType, 2)) bRequest \(request) wValue \(value) wIndex \(index) wLength \(length)"
    }
}

/// What a control transfer can do wrong. The adapter maps its library's codes here and keeps
/// the raw code.
public enum USBTransferError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The device answered STALL (the request is not supported now).
    case stall
    /// No answer within the timeout.
    case timeout
    /// The device is gone (unplugged, reset, re-enumerating).
    case noDevice
    /// The device sent more than was asked for.
    case overflow
    /// Any other failure, with the call and the library's raw code.
    case io(call: String, code: Int32)
    /// A replayed recording did not contain this request (see `ReplayTransport`).
    case replayMismatch(String)

    public var code: String {
        switch self {
        case .stall: "USB-STALL"
        case .timeout: "USB-TIMEOUT"
        case .noDevice: "USB-NO-DEVICE"
        case .overflow: "USB-OVERFLOW"
        case .io: "USB-IO"
        case .replayMismatch: "USB-REPLAY-MISMATCH"
        }
    }

    public var description: String {
        switch self {
        case .stall: "the device refused the request (STALL)"
        case .timeout: "the device did not answer in time"
        case .noDevice: "the device is gone (unplugged or re-enumerating)"
        case .overflow: "the device sent more data than asked for"
        case .io(let call, let code): "\(call) failed with code \(code)"
        case .replayMismatch(let message): "replay: \(message)"
        }
    }
}

/// One control transfer at a time to one device.
///
/// Implementations never block the cooperative pool: the libusb adapter runs the blocking
/// call on the device's own thread; the emulator waits on its injected clock.
public protocol USBControlTransport: Sendable {
    /// How the device is named in errors and logs (port path, serial).
    var deviceName: String { get }

    /// Performs one control transfer.
    /// - Parameters:
    ///   - setup: the setup packet; for OUT transfers `length` equals `data.count`.
    ///   - data: the OUT data stage (empty for IN transfers).
    ///   - timeout: how long the transfer may take.
    /// - Returns: the IN data stage (at most `setup.length` bytes); empty for OUT transfers.
    /// - Throws: `USBTransferError`.
    func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8]
}
