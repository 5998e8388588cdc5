import Seams

/// A DFU operation that failed, with where and how.
public struct DFUError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The transfer itself failed.
        case transfer(USBTransferError)
        /// The device reported an error status.
        case status(DFUStatusCode)
        /// The device was in a state the protocol does not allow here.
        case unexpectedState(expected: String)
        /// The device stayed busy longer than allowed.
        case busyTimeout
        /// The GETSTATUS reply was not 6 bytes.
        case malformedStatus(length: Int)
        /// The address range is not in the alt's memory, or not writable/readable.
        case notInLayout(reason: String)
        /// The device read back different bytes than were written.
        case verifyMismatch(expected: UInt8, found: UInt8)
        /// The operation was cancelled; the device was sent back to dfuIDLE.
        case cancelled
        /// The bootloader does not list this DfuSe command.
        case unsupportedCommand(UInt8)
        /// Its descriptors name no memory layout for the alt setting.
        case noLayout
    }

    /// Which step (`erase`, `write`, `read`, `set-address`, `leave`, ...).
    public let operation: String
    public let kind: Kind
    public let device: String
    public let alt: UInt8
    public let address: UInt32?
    public let block: UInt16?
    /// The last status and state read from the device, when one was read.
    public let status: DFUStatusCode?
    public let state: DFUState?

    public init(
        operation: String, kind: Kind, device: String, alt: UInt8, address: UInt32? = nil, block: UInt16? = nil,
        status: DFUStatusCode? = nil, state: DFUState? = nil
    ) {
        self.operation = operation
        self.kind = kind
        self.device = device
        self.alt = alt
        self.address = address
        self.block = block
        self.status = status
        self.state = state
    }

    /// A stable code for logs, the store and the UI.
    public var code: String {
        let step = operation.uppercased()
        return switch kind {
        case .transfer(let error): "DFU-\(step)-\(error.code.replacingUSB)"
        case .status(let status): "DFU-\(step)-\(DFUStatusMessages.name(of: status).uppercased())"
        case .unexpectedState: "DFU-\(step)-STATE"
        case .busyTimeout: "DFU-\(step)-TIMEOUT"
        case .malformedStatus: "DFU-\(step)-BAD-STATUS"
        case .notInLayout: "DFU-\(step)-ADDRESS"
        case .verifyMismatch: "DFU-\(step)-VERIFY"
        case .cancelled: "DFU-CANCELLED"
        case .unsupportedCommand: "DFU-\(step)-UNSUPPORTED"
        case .noLayout: "DFU-NO-LAYOUT"
        }
    }

    public var description: String {
        var whereText = "\(device), alt \(alt)"
        if let address { whereText += ", address 0x\(String(address, radix: 16))" }
        if let block { whereText += ", block \(block)" }
        if let status, let state { whereText += ", device reports \(DFUStatusMessages.name(of: status)) in \(state)" }
        let what: String
        switch kind {
        case .transfer(let error):
            what = "\(error)" + (error == .noDevice ? ". Check the cable and hub port; the job resumes when the device is back." : ". Replug the device and retry.")
        case .status(let status):
            what = DFUStatusMessages.message(for: status) + ". Retry; if it happens again, set the device aside."
        case .unexpectedState(let expected):
            what = "the device was not in the expected state (\(expected)). Retry; the station resets the DFU state first."
        case .busyTimeout:
            what = "the device stayed busy too long. Replug it and retry."
        case .malformedStatus(let length):
            what = "the device's status reply was \(length) bytes instead of 6. Replug it and retry."
        case .notInLayout(let reason):
            what = reason
        case .verifyMismatch(let expected, let found):
            what = "read back 0x\(String(found, radix: 16)) where 0x\(String(expected, radix: 16)) was written: the flash did not take. Retry; if it happens again, set the device aside."
        case .cancelled:
            what = "cancelled; the device was returned to dfuIDLE"
        case .unsupportedCommand(let command):
            what = "the bootloader does not support DfuSe command 0x\(String(command, radix: 16)); it may need a newer bootloader"
        case .noLayout:
            what = "the device did not report a memory layout for alt setting \(alt). Replug it and retry."
        }
        return "DFU \(operation) failed (\(whereText)): \(what)"
    }
}

private extension String {
    var replacingUSB: String { hasPrefix("USB-") ? String(dropFirst(4)) : self }
}

extension DFUError: DeviceFacingError {
    public var cause: DeviceCause {
        switch kind {
        case .transfer(let error): error.cause
        case .busyTimeout: .timeout
        case .status, .unexpectedState, .malformedStatus, .unsupportedCommand, .noLayout: .protocolViolation
        case .notInLayout, .verifyMismatch, .cancelled: .other
        }
    }
}
