/// A control request's result code (Device OS `system_error_t`, particle-usb `result.js`).
public struct ControlResult: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let ok = ControlResult(rawValue: 0)
    /// -1801: Device Protection is on and the request is one a protected device refuses.
    public static let deviceProtected = ControlResult(rawValue: -1801)
    static let names: [Int32: String] = [
        0: "OK", -100: "ERROR", -110: "BUSY", -120: "NOT_SUPPORTED", -130: "NOT_ALLOWED", -140: "CANCELLED", -150: "ABORTED",
        -160: "TIMEOUT", -170: "NOT_FOUND", -180: "ALREADY_EXISTS", -190: "TOO_LARGE", -200: "LIMIT_EXCEEDED", -210: "INVALID_STATE",
        -220: "IO", -230: "NETWORK", -240: "PROTOCOL", -250: "INTERNAL", -260: "NO_MEMORY", -270: "INVALID_ARGUMENT", -280: "BAD_DATA",
        -290: "OUT_OF_RANGE", -1801: "DEVICE_PROTECTED",
    ]

    /// The documented name, or `UNKNOWN(<code>)`.
    public var name: String { Self.names[rawValue] ?? "UNKNOWN(\(rawValue))" }
    public var description: String { "\(name) (\(rawValue))" }
}

/// The service protocol's status field (particle-usb-protocol.md 3.2).
public enum ServiceStatus: UInt16, Sendable, Hashable {
    case ok = 0, error = 1, pending = 2, busy = 3, noMemory = 4, notFound = 5
}

/// The reply to INIT, CHECK and RESET: flags, status, then id, size and result when flagged.
public struct ServiceReply: Hashable, Sendable {
    public var status: ServiceStatus
    public var id: UInt16?
    public var size: UInt32?
    public var result: Int32?

    public init(status: ServiceStatus, id: UInt16? = nil, size: UInt32? = nil, result: Int32? = nil) {
        self.status = status
        self.id = id
        self.size = size
        self.result = result
    }

    /// Parses the little-endian reply; nil when it is short or its status is unknown.
    public init?(bytes: [UInt8]) {
        func le(_ at: Int, _ count: Int) -> UInt64? {
            guard at + count <= bytes.count else { return nil }
            return (0..<count).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
        }
        guard let flags = le(0, 4), let raw = le(4, 2), let status = ServiceStatus(rawValue: UInt16(raw)) else { return nil }
        self.status = status
        var offset = 6
        if flags & 2 != 0 {
            guard let v = le(offset, 2) else { return nil }
            id = UInt16(v)
            offset += 2
        }
        if flags & 4 != 0 {
            guard let v = le(offset, 4) else { return nil }
            size = UInt32(v)
            offset += 4
        }
        if flags & 8 != 0 {
            guard let v = le(offset, 4) else { return nil }
            result = Int32(bitPattern: UInt32(v))
        }
    }

    /// The encoding a device sends (used by the emulator).
    public var encoded: [UInt8] {
        var flags: UInt32 = 1
        var tail: [UInt8] = []
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        if let id { flags |= 2; tail += le(id) }
        if let size { flags |= 4; tail += le(size) }
        if let result { flags |= 8; tail += le(result) }
        return le(flags) + le(status.rawValue) + tail
    }
}
