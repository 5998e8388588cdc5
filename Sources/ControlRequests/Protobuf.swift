/// The few protobuf (proto3) encodings the control requests need, written by hand and tested
/// byte for byte against `particle-usb-protocol.md` 3.6: varints, length-delimited fields
/// and fixed32. Decoding skips fields it does not know, of every wire type, and never traps
/// on malformed input.
public enum Protobuf {
    public enum WireType: UInt8, Sendable { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

    public struct DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "malformed protobuf at byte \(offset): \(reason)" }
    }

    /// One field as read.
    public enum Value: Hashable, Sendable {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes([UInt8])
        case fixed32(UInt32)

        public var integer: UInt64? {
            switch self {
            case .varint(let v), .fixed64(let v): v
            case .fixed32(let v): UInt64(v)
            case .bytes: nil
            }
        }
        public var bytes: [UInt8]? { if case .bytes(let b) = self { b } else { nil } }
        public var string: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
    }

    // MARK: Writing

    public static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            out.append(byte)
        } while value != 0
        return out
    }

    static func key(_ field: Int, _ type: WireType) -> [UInt8] { varint(UInt64(field) << 3 | UInt64(type.rawValue)) }

    /// A varint field; proto3 omits the default (0 / false).
    public static func field(_ number: Int, varint value: UInt64) -> [UInt8] {
        value == 0 ? [] : key(number, .varint) + varint(value)
    }

    public static func field(_ number: Int, bool value: Bool) -> [UInt8] { field(number, varint: value ? 1 : 0) }

    /// A length-delimited field (bytes, string, embedded message); empty ones are omitted.
    public static func field(_ number: Int, bytes value: [UInt8]) -> [UInt8] {
        value.isEmpty ? [] : key(number, .lengthDelimited) + varint(UInt64(value.count)) + value
    }

    public static func field(_ number: Int, string value: String) -> [UInt8] { field(number, bytes: Array(value.utf8)) }

    // MARK: Reading

    /// Every field in order (repeated fields appear once per occurrence).
    public static func fields(_ bytes: [UInt8]) throws(DecodeError) -> [(number: Int, value: Value)] {
        var result: [(Int, Value)] = []
        var offset = 0
        func readVarint() throws(DecodeError) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            let start = offset
            while true {
                guard offset < bytes.count else { throw DecodeError(offset: start, reason: "varint runs past the end") }
                let byte = bytes[offset]
                offset += 1
                guard shift < 64 else { throw DecodeError(offset: start, reason: "varint longer than 10 bytes") }
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        func take(_ count: Int) throws(DecodeError) -> [UInt8] {
            guard count >= 0, count <= bytes.count - offset else { throw DecodeError(offset: offset, reason: "\(count) bytes wanted, \(bytes.count - offset) left") }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }
        while offset < bytes.count {
            let keyOffset = offset
            let key = try readVarint()
            let number = Int(truncatingIfNeeded: key >> 3)
            guard number > 0 else { throw DecodeError(offset: keyOffset, reason: "field number 0") }
            switch key & 7 {
            case 0: result.append((number, .varint(try readVarint())))
            case 1: result.append((number, .fixed64(try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) })))
            case 2:
                let length = try readVarint()
                guard length <= UInt64(Int.max) else { throw DecodeError(offset: offset, reason: "length too large") }
                result.append((number, .bytes(try take(Int(length)))))
            case 5: result.append((number, .fixed32(try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) })))
            default: throw DecodeError(offset: keyOffset, reason: "wire type \(key & 7) is not supported")
            }
        }
        return result
    }
}
