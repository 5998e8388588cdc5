import Seams

/// The DFU class requests (DFU 1.1 section 3, table 3.2).
public enum DFURequest: UInt8, Sendable, CaseIterable {
    /// Spec: `DFU_DETACH` (0).
    case detach = 0
    /// Spec: `DFU_DNLOAD` (1).
    case download = 1
    /// Spec: `DFU_UPLOAD` (2).
    case upload = 2
    /// Spec: `DFU_GETSTATUS` (3).
    case getStatus = 3
    /// Spec: `DFU_CLRSTATUS` (4).
    case clearStatus = 4
    /// Spec: `DFU_GETSTATE` (5).
    case getState = 5
    /// Spec: `DFU_ABORT` (6).
    case abort = 6

    /// Class request to the interface: 0x21 out, 0xA1 in.
    public func setup(value: UInt16 = 0, interface: UInt16 = 0, length: Int = 0) -> ControlSetup {
        let input = self == .upload || self == .getStatus || self == .getState
        return ControlSetup(
            requestType: input ? 0xA1 : 0x21, request: rawValue, value: value, index: interface,
            length: UInt16(clamping: length))
    }
}

/// The device's DFU state (DFU 1.1 section 6.1.2).
public struct DFUState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let appIdle = Self(rawValue: 0)
    public static let appDetach = Self(rawValue: 1)
    /// Spec: `dfuIDLE` (2).
    public static let idle = Self(rawValue: 2)
    /// Spec: `dfuDNLOAD-SYNC` (3).
    public static let downloadSync = Self(rawValue: 3)
    /// Spec: `dfuDNBUSY` (4).
    public static let downloadBusy = Self(rawValue: 4)
    /// Spec: `dfuDNLOAD-IDLE` (5).
    public static let downloadIdle = Self(rawValue: 5)
    /// Spec: `dfuMANIFEST-SYNC` (6).
    public static let manifestSync = Self(rawValue: 6)
    /// Spec: `dfuMANIFEST` (7).
    public static let manifest = Self(rawValue: 7)
    /// Spec: `dfuMANIFEST-WAIT-RESET` (8).
    public static let manifestWaitReset = Self(rawValue: 8)
    /// Spec: `dfuUPLOAD-IDLE` (9).
    public static let uploadIdle = Self(rawValue: 9)
    /// Spec: `dfuERROR` (10).
    public static let error = Self(rawValue: 10)

    public var description: String {
        switch rawValue {
        case 0: "appIDLE"
        case 1: "appDETACH"
        case 2: "dfuIDLE"
        case 3: "dfuDNLOAD-SYNC"
        case 4: "dfuDNBUSY"
        case 5: "dfuDNLOAD-IDLE"
        case 6: "dfuMANIFEST-SYNC"
        case 7: "dfuMANIFEST"
        case 8: "dfuMANIFEST-WAIT-RESET"
        case 9: "dfuUPLOAD-IDLE"
        case 10: "dfuERROR"
        default: "state \(rawValue)"
        }
    }
}

/// `bStatus` of GETSTATUS (DFU 1.1 section 6.1.2).
public struct DFUStatusCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let ok = Self(rawValue: 0x00)
    public static let errTarget = Self(rawValue: 0x01)
    public static let errFile = Self(rawValue: 0x02)
    public static let errWrite = Self(rawValue: 0x03)
    public static let errErase = Self(rawValue: 0x04)
    public static let errCheckErased = Self(rawValue: 0x05)
    public static let errProg = Self(rawValue: 0x06)
    public static let errVerify = Self(rawValue: 0x07)
    public static let errAddress = Self(rawValue: 0x08)
    public static let errNotDone = Self(rawValue: 0x09)
    public static let errFirmware = Self(rawValue: 0x0A)
    public static let errVendor = Self(rawValue: 0x0B)
    public static let errUSBReset = Self(rawValue: 0x0C)
    public static let errPOR = Self(rawValue: 0x0D)
    public static let errUnknown = Self(rawValue: 0x0E)
    public static let errStalledPacket = Self(rawValue: 0x0F)

    public var description: String { DFUStatusMessages.name(of: self) }
}

/// The 6-byte GETSTATUS reply.
public struct DFUStatus: Hashable, Sendable, CustomStringConvertible {
    public let status: DFUStatusCode
    /// `bwPollTimeout`: how long the host waits before the next GETSTATUS.
    public let pollTimeout: Duration
    public let state: DFUState
    public let stringIndex: UInt8

    public init(status: DFUStatusCode, pollTimeout: Duration, state: DFUState, stringIndex: UInt8 = 0) {
        self.status = status
        self.pollTimeout = pollTimeout
        self.state = state
        self.stringIndex = stringIndex
    }

    /// Decodes the reply; nil when it is not 6 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 6 else { return nil }
        status = DFUStatusCode(rawValue: bytes[0])
        let ms = Int(bytes[1]) | Int(bytes[2]) << 8 | Int(bytes[3]) << 16
        pollTimeout = .milliseconds(ms)
        state = DFUState(rawValue: bytes[4])
        stringIndex = bytes[5]
    }

    /// The 6 bytes a device sends.
    public var encoded: [UInt8] {
        let ms = Int(pollTimeout.components.seconds * 1000 + pollTimeout.components.attoseconds / 1_000_000_000_000_000)
        return [status.rawValue, UInt8(ms & 0xFF), UInt8((ms >> 8) & 0xFF), UInt8((ms >> 16) & 0xFF), state.rawValue, stringIndex]
    }

    public var description: String { "\(status) in \(state)" }
}

/// DfuSe commands, sent as DNLOAD with wValue 0 (ST AN3156; Particle's 0xFA and 0xFB).
public enum DfuSeCommand: UInt8, Sendable, CaseIterable {
    case getCommands = 0x00
    case setAddress = 0x21
    case erase = 0x41
    case readUnprotect = 0x92
    /// Particle: enter safe mode.
    case enterSafeMode = 0xFA
    /// Particle: clear the security-mode override.
    case clearSecurityOverride = 0xFB
}
