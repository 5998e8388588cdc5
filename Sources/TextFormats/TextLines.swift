/// Text a station reads that is not UTF-8: where (line, byte offset in the file) and what.
public struct TextDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// From 1.
    public var line: Int
    /// From 0, counted in the file's bytes (a byte-order mark included).
    public var byteOffset: Int
    public var reason: String
    public var description: String { "line \(line), byte offset \(byteOffset): \(reason); save the file as UTF-8 text" }
}

/// The one line reader for what the station reads line by line (tray and reel files,
/// scanner input, key lines, console transcripts): LF, CR LF and CR each end a line; a UTF-8
/// byte-order mark at the start is dropped; invalid UTF-8 is an error with its line and
/// byte offset, never a replacement character.
public enum TextLines {
    /// The file's bytes as text (byte-order mark dropped).
    public static func decode(_ bytes: some Collection<UInt8>) throws(TextDecodingError) -> String {
        let all = Array(bytes)
        let start = all.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        if let (offset, reason) = firstInvalid(all[start...]) {
            let line = 1 + lineBreaks(in: all[start..<offset])
            throw TextDecodingError(line: line, byteOffset: offset, reason: reason)
        }
        return String(decoding: all[start...], as: UTF8.self)
    }

    /// The lines of a text, without their line ends. A final line end does not start an
    /// empty line; every other empty line is kept, so line numbers match an editor's.
    public static func split(_ text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" && previousCR { previousCR = false; continue }
            previousCR = scalar == "\r"
            if scalar == "\n" || scalar == "\r" {
                lines.append(String(current))
                current = String.UnicodeScalarView()
                continue
            }
            current.append(scalar)
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    /// `decode` then `split`.
    public static func read(_ bytes: some Collection<UInt8>) throws(TextDecodingError) -> [String] {
        split(try decode(bytes))
    }

    /// The first byte that does not start or continue a well-formed UTF-8 sequence
    /// (overlong forms, surrogates and values past U+10FFFF are not well-formed).
    static func firstInvalid(_ bytes: ArraySlice<UInt8>) -> (Int, String)? {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let lead = bytes[index]
            if lead < 0x80 { index += 1; continue }
            let length: Int, lower: UInt8, upper: UInt8
            switch lead {
            case 0xC2...0xDF: (length, lower, upper) = (2, 0x80, 0xBF)
            case 0xE0: (length, lower, upper) = (3, 0xA0, 0xBF)
            case 0xED: (length, lower, upper) = (3, 0x80, 0x9F)
            case 0xE1...0xEF: (length, lower, upper) = (3, 0x80, 0xBF)
            case 0xF0: (length, lower, upper) = (4, 0x90, 0xBF)
            case 0xF4: (length, lower, upper) = (4, 0x80, 0x8F)
            case 0xF1...0xF3: (length, lower, upper) = (4, 0x80, 0xBF)
            default: return (index, "byte 0x\(hex(lead)) cannot start a UTF-8 character")
            }
            for k in 1..<length {
                let at = index + k
                guard at < bytes.endIndex else { return (index, "the file ends inside a UTF-8 character") }
                let byte = bytes[at]
                let (low, high) = k == 1 ? (lower, upper) : (UInt8(0x80), UInt8(0xBF))
                guard (low...high).contains(byte) else { return (index, "byte 0x\(hex(lead)) starts a UTF-8 character that byte 0x\(hex(byte)) does not continue") }
            }
            index += length
        }
        return nil
    }

    /// Line ends in bytes (LF, CR LF and CR each count once).
    static func lineBreaks(in bytes: ArraySlice<UInt8>) -> Int {
        var count = 0
        var previousCR = false
        for byte in bytes {
            if byte == 0x0A && previousCR { previousCR = false; continue }
            if byte == 0x0A || byte == 0x0D { count += 1 }
            previousCR = byte == 0x0D
        }
        return count
    }

    private static func hex(_ byte: UInt8) -> String { Hex.encode([byte], uppercase: true) }
}

/// Builds lines from a stream of bytes arriving in pieces (a scanner, a console), with a
/// bound: a line longer than `maximumLength` bytes is cut there and marked, so a device or
/// scanner that never sends a line end cannot grow the buffer without end.
public struct LineAssembler: Sendable {
    public let maximumLength: Int
    private var buffer: [UInt8] = []
    private var previousCR = false
    private var overflowed = false

    public init(maximumLength: Int) {
        precondition(maximumLength > 0)
        self.maximumLength = maximumLength
    }

    /// A finished line: its bytes as text (invalid UTF-8 shown as U+FFFD, since a device's
    /// bytes are not a file to refuse) and whether it was cut at the bound.
    public struct Line: Equatable, Sendable {
        public var text: String
        public var truncated: Bool
        public init(text: String, truncated: Bool) { (self.text, self.truncated) = (text, truncated) }
    }

    /// Feeds bytes; returns the lines they finish.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Line] {
        var lines: [Line] = []
        for byte in bytes {
            if byte == 0x0A && previousCR { previousCR = false; continue }
            previousCR = byte == 0x0D
            if byte == 0x0A || byte == 0x0D {
                lines.append(Line(text: String(decoding: buffer, as: UTF8.self), truncated: overflowed))
                buffer.removeAll(keepingCapacity: true)
                overflowed = false
                continue
            }
            if buffer.count < maximumLength { buffer.append(byte) } else { overflowed = true }
        }
        return lines
    }

    /// What has arrived since the last line end.
    public var partial: String { String(decoding: buffer, as: UTF8.self) }
}
