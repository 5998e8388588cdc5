/// Where a TOML document is wrong: line and column (both from 1; the column counts
/// characters) and what was expected there.
public struct TOMLSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var reason: String
    public var description: String { "line \(line), column \(column): \(reason)" }
    public init(line: Int, column: Int, reason: String) { (self.line, self.column, self.reason) = (line, column, reason) }
}

/// A TOML 1.0 reader of our own (why not TOMLKit: `Sources/TextFormats/README.md`).
///
/// The rules for tables follow TOML 1.0 as Python's `tomllib` applies them (our
/// differential oracle): a table is declared once; tables made by dotted keys are closed to
/// `[header]`s and to dotted keys of later sections; inline tables and arrays are frozen;
/// `[[x]]` opens a fresh element of an array of tables. CR LF is read as LF; a lone CR is an
/// error. Integers outside 64 bits are an error (TOML 1.0 requires it; `tomllib` takes any).
/// Nesting deeper than `maximumDepth` is an error, so that no input exhausts the stack.
public struct TOMLReader {
    public static let maximumDepth = 100

    public static func parse(_ text: String) throws(TOMLSyntaxError) -> TOMLTable {
        var reader = TOMLReader(text)
        return try reader.document()
    }

    private let src: [UInt8]
    private var pos = 0
    private let root = Box()
    private var flags = FlagNode()
    /// Dotted-key containers of the current section, closed when the next header starts.
    private var pending: [[String]] = []
    private var depth = 0

    private init(_ text: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var previousCR = false
        for byte in text.utf8 {
            if previousCR, byte == 0x0A { bytes.removeLast() }
            bytes.append(byte)
            previousCR = byte == 0x0D
        }
        src = bytes
    }

    // MARK: Statements

    private mutating func document() throws(TOMLSyntaxError) -> TOMLTable {
        var header: [String] = []
        while true {
            skipWhitespace()
            guard let char = peek() else { break }
            if char == 0x0A { pos += 1; continue }
            if Self.isBareKey(char) || char == 0x22 || char == 0x27 {
                try keyValueStatement(header: header)
                skipWhitespace()
            } else if char == 0x5B {  // [
                finalizePending()
                header = peek(1) == 0x5B ? try arrayOfTablesHeader() : try tableHeader()
                skipWhitespace()
            } else if char != 0x23 {  // #
                throw fail("a key, a [table] or a comment was expected here")
            }
            try skipComment()
            guard let next = peek() else { break }
            if next != 0x0A { throw fail("the line goes on after its value; put one statement on each line (or start a comment with #)") }
            pos += 1
        }
        return root.table
    }

    private mutating func keyValueStatement(header: [String]) throws(TOMLSyntaxError) {
        let start = pos
        let (key, value) = try keyValuePair(header: header)
        let parent = Array(key.dropLast()), stem = key[key.count - 1]
        let absoluteParent = header + parent
        for index in 1..<max(key.count, 1) {
            let container = header + key[0..<index]
            if flags.has(container, .explicitNest) {
                throw fail("'\(Self.dotted(container))' is already a table; a dotted key cannot add to it here", at: start)
            }
            pending.append(container)
        }
        if flags.has(absoluteParent, .frozen) {
            throw fail("'\(Self.dotted(absoluteParent))' is an inline table or array and cannot be extended", at: start)
        }
        guard let nest = root.nest(absoluteParent, throughArrays: true) else {
            throw fail("'\(Self.dotted(absoluteParent))' already holds a value that is not a table", at: start)
        }
        guard nest.entries[stem] == nil else {
            throw fail("'\(Self.dotted(header + key))' is defined twice", at: start)
        }
        if case .array = value { flags.set(header + key, .frozen, recursive: true) }
        if case .table = value { flags.set(header + key, .frozen, recursive: true) }
        nest.insert(stem, .value(value))
    }

    private mutating func tableHeader() throws(TOMLSyntaxError) -> [String] {
        let start = pos
        pos += 1
        skipWhitespace()
        let key = try key()
        guard key.count <= Self.maximumDepth else { throw fail("the table header nests deeper than \(Self.maximumDepth) levels", at: start) }
        if flags.has(key, .explicitNest) || flags.has(key, .frozen) {
            throw fail("table [\(Self.dotted(key))] is declared twice (or was already made by a dotted key or an inline table)", at: start)
        }
        flags.set(key, .explicitNest, recursive: false)
        guard root.nest(key, throughArrays: true) != nil else {
            throw fail("[\(Self.dotted(key))] names a key that already holds a value", at: start)
        }
        guard peek() == 0x5D else { throw fail("']' was expected to close the table header") }
        pos += 1
        return key
    }

    private mutating func arrayOfTablesHeader() throws(TOMLSyntaxError) -> [String] {
        let start = pos
        pos += 2
        skipWhitespace()
        let key = try key()
        guard key.count <= Self.maximumDepth else { throw fail("the table header nests deeper than \(Self.maximumDepth) levels", at: start) }
        if flags.has(key, .frozen) {
            throw fail("[[\(Self.dotted(key))]] cannot add to an inline table or a static array", at: start)
        }
        flags.unsetAll(key)
        flags.set(key, .explicitNest, recursive: false)
        guard let parent = root.nest(Array(key.dropLast()), throughArrays: true) else {
            throw fail("[[\(Self.dotted(key))]] names a key that already holds a value", at: start)
        }
        let stem = key[key.count - 1]
        switch parent.entries[stem] {
        case nil: parent.insert(stem, .tables([Box()]))
        case .tables(var list)?:
            // Out of the dictionary first, so that appending does not copy the array.
            parent.entries[stem] = nil
            list.append(Box())
            parent.entries[stem] = .tables(list)
        default:
            throw fail("[[\(Self.dotted(key))]] names a key that is not an array of tables", at: start)
        }
        guard peek() == 0x5D, peek(1) == 0x5D else { throw fail("']]' was expected to close the array-of-tables header") }
        pos += 2
        return key
    }

    private mutating func finalizePending() {
        for key in pending { flags.set(key, .explicitNest, recursive: false) }
        pending.removeAll()
    }

    // MARK: Keys

    private mutating func keyValuePair(header: [String] = []) throws(TOMLSyntaxError) -> ([String], TOMLValue) {
        let start = pos
        let key = try key()
        // Dotted keys nest too: their parts count with the brackets around them.
        guard header.count + key.count + depth <= Self.maximumDepth else {
            throw fail("the key nests deeper than \(Self.maximumDepth) levels", at: start)
        }
        guard peek() == 0x3D else { throw fail("'=' was expected after the key") }
        pos += 1
        skipWhitespace()
        return (key, try value())
    }

    private mutating func key() throws(TOMLSyntaxError) -> [String] {
        var parts = [try keyPart()]
        skipWhitespace()
        while peek() == 0x2E {
            pos += 1
            skipWhitespace()
            parts.append(try keyPart())
            skipWhitespace()
        }
        return parts
    }

    private mutating func keyPart() throws(TOMLSyntaxError) -> String {
        guard let char = peek() else { throw fail("a key was expected, the file ends") }
        if Self.isBareKey(char) {
            let start = pos
            while let c = peek(), Self.isBareKey(c) { pos += 1 }
            return text(start, pos)
        }
        if char == 0x27 { return try literalString() }
        if char == 0x22 { return try basicString(multiline: false) }
        throw fail("a key was expected: letters, digits, '_' and '-', or a quoted key")
    }

    // MARK: Values

    private mutating func value() throws(TOMLSyntaxError) -> TOMLValue {
        guard let char = peek() else { throw fail("a value was expected, the file ends") }
        switch char {
        case 0x22:
            if starts(with: "\"\"\"") { return .string(try multilineString(literal: false)) }
            return .string(try basicString(multiline: false))
        case 0x27:
            if starts(with: "'''") { return .string(try multilineString(literal: true)) }
            return .string(try literalString())
        case 0x74 where starts(with: "true"):
            pos += 4
            return .bool(true)
        case 0x66 where starts(with: "false"):
            pos += 5
            return .bool(false)
        case 0x5B: return try nested { (reader: inout TOMLReader) throws(TOMLSyntaxError) in try reader.array() }
        case 0x7B: return try nested { (reader: inout TOMLReader) throws(TOMLSyntaxError) in try reader.inlineTable() }
        default: break
        }
        if let dateTime = try dateTime() { return dateTime }
        if let time = try localTime() { return .localTime(time) }
        if let number = try number() { return number }
        for special in ["inf", "nan", "+inf", "-inf", "+nan", "-nan"] where starts(with: special) {
            pos += special.utf8.count
            let negative = special.hasPrefix("-")
            if special.hasSuffix("inf") { return .float(negative ? -.infinity : .infinity) }
            return .float(negative ? -Double.nan : .nan)
        }
        throw fail("a value was expected: a \"string\", a number, true or false, a date, an [array] or an {inline table}")
    }

    private mutating func nested(_ body: (inout TOMLReader) throws(TOMLSyntaxError) -> TOMLValue) throws(TOMLSyntaxError) -> TOMLValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw fail("arrays and inline tables nest deeper than \(Self.maximumDepth) levels") }
        return try body(&self)
    }

    private mutating func array() throws(TOMLSyntaxError) -> TOMLValue {
        pos += 1
        var items: [TOMLValue] = []
        try skipArraySpace()
        if peek() == 0x5D { pos += 1; return .array(items) }
        while true {
            items.append(try value())
            try skipArraySpace()
            let char = peek()
            if char == 0x5D { pos += 1; return .array(items) }
            guard char == 0x2C else { throw fail("',' or ']' was expected in the array") }
            pos += 1
            try skipArraySpace()
            if peek() == 0x5D { pos += 1; return .array(items) }
        }
    }

    private mutating func inlineTable() throws(TOMLSyntaxError) -> TOMLValue {
        pos += 1
        let table = Box()
        var local = FlagNode()
        skipWhitespace()
        if peek() == 0x7D { pos += 1; return .table(table.table) }
        while true {
            let start = pos
            let (key, value) = try keyValuePair()
            let stem = key[key.count - 1]
            if local.has(key, .frozen) { throw fail("'\(Self.dotted(key))' is an inline table or array and cannot be extended", at: start) }
            guard let nest = table.nest(Array(key.dropLast()), throughArrays: false) else {
                throw fail("'\(Self.dotted(key.dropLast()))' already holds a value that is not a table", at: start)
            }
            guard nest.entries[stem] == nil else { throw fail("'\(Self.dotted(key))' is defined twice in the inline table", at: start) }
            nest.insert(stem, .value(value))
            skipWhitespace()
            let char = peek()
            if char == 0x7D { pos += 1; return .table(table.table) }
            guard char == 0x2C else { throw fail("',' or '}' was expected in the inline table (it must stay on one line)") }
            if case .array = value { local.set(key, .frozen, recursive: true) }
            if case .table = value { local.set(key, .frozen, recursive: true) }
            pos += 1
            skipWhitespace()
        }
    }

    // MARK: Strings

    private mutating func literalString() throws(TOMLSyntaxError) -> String {
        pos += 1
        let start = pos
        while true {
            guard let char = peek() else { throw fail("the 'literal string' is not closed") }
            if char == 0x27 { break }
            if char == 0x0A { throw fail("the 'literal string' is not closed on its line") }
            if Self.isControl(char) && char != 0x09 { throw fail("a control character in a string; write it as an escape in a \"basic string\"") }
            pos += 1
        }
        defer { pos += 1 }
        return text(start, pos)
    }

    private mutating func multilineString(literal: Bool) throws(TOMLSyntaxError) -> String {
        pos += 3
        if peek() == 0x0A { pos += 1 }
        let delimiter: UInt8 = literal ? 0x27 : 0x22
        var result: String
        if literal {
            let start = pos
            while !starts(with: "'''") {
                guard let char = peek() else { throw fail("the '''multi-line literal string''' is not closed") }
                if Self.isControl(char) && char != 0x09 && char != 0x0A { throw fail("a control character in a string") }
                pos += 1
            }
            result = text(start, pos)
            pos += 3
        } else {
            result = try basicString(multiline: true)
        }
        // Up to two quotes right before the closing three belong to the string.
        for _ in 0..<2 {
            guard peek() == delimiter else { break }
            pos += 1
            result.append(Character(Unicode.Scalar(delimiter)))
        }
        return result
    }

    /// A "basic string" (from its opening quote) or the body of a multi-line one.
    private mutating func basicString(multiline: Bool) throws(TOMLSyntaxError) -> String {
        if !multiline { pos += 1 }
        var bytes: [UInt8] = []
        while true {
            guard let char = peek() else { throw fail(multiline ? "the \"\"\"multi-line string\"\"\" is not closed" : "the \"string\" is not closed") }
            if char == 0x22 {
                if !multiline { pos += 1; break }
                if starts(with: "\"\"\"") { pos += 3; break }
                bytes.append(char)
                pos += 1
                continue
            }
            if char == 0x5C {
                try escape(multiline: multiline, into: &bytes)
                continue
            }
            if char == 0x0A && !multiline { throw fail("the \"string\" is not closed on its line") }
            if Self.isControl(char) && char != 0x09 && !(multiline && char == 0x0A) {
                throw fail("a control character in a string; write it as an escape such as \\t or \\u001B")
            }
            bytes.append(char)
            pos += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func escape(multiline: Bool, into bytes: inout [UInt8]) throws(TOMLSyntaxError) {
        let start = pos
        let id = peek(1)
        pos += 2
        if multiline, id == 0x20 || id == 0x09 || id == 0x0A {
            // A line-ending backslash: the newline and the whitespace after it go.
            if id != 0x0A {
                skipWhitespace()
                guard let char = peek() else { return }
                guard char == 0x0A else { throw fail("a '\\' in a string that is not an escape; write \\\\ for a backslash", at: start) }
                pos += 1
            }
            while let char = peek(), char == 0x20 || char == 0x09 || char == 0x0A { pos += 1 }
            return
        }
        switch id {
        case 0x62: bytes.append(0x08)
        case 0x74: bytes.append(0x09)
        case 0x6E: bytes.append(0x0A)
        case 0x66: bytes.append(0x0C)
        case 0x72: bytes.append(0x0D)
        case 0x22: bytes.append(0x22)
        case 0x5C: bytes.append(0x5C)
        case 0x75, 0x55:
            let count = id == 0x75 ? 4 : 8
            guard pos + count <= src.count, src[pos..<(pos + count)].allSatisfy(Self.isHex) else {
                throw fail("\\\(id == 0x75 ? "u" : "U") needs exactly \(count) hex digits", at: start)
            }
            let code = src[pos..<(pos + count)].reduce(UInt32(0)) { $0 << 4 | UInt32(Self.hexValue($1)) }
            guard let scalar = Unicode.Scalar(code) else { throw fail("the escape is not a Unicode scalar value", at: start) }
            bytes.append(contentsOf: String(Character(scalar)).utf8)
            pos += count
        default:
            throw fail("a '\\' in a string that is not an escape (\\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX); write \\\\ for a backslash", at: start)
        }
    }

    // MARK: Numbers and dates

    private mutating func number() throws(TOMLSyntaxError) -> TOMLValue? {
        let start = pos
        if peek() == 0x30, let base = peek(1), base == 0x78 || base == 0x62 || base == 0x6F {
            let radix = base == 0x78 ? 16 : base == 0x62 ? 2 : 8
            pos += 2
            guard digits(radix: radix) else { pos = start; return try decimal() }
            let text = text(start + 2, pos).replacing("_", with: "")
            guard let value = UInt64(text, radix: radix), let signed = Int64(exactly: value) else {
                throw fail("the integer does not fit in 64 bits", at: start)
            }
            return .integer(signed)
        }
        return try decimal()
    }

    private mutating func decimal() throws(TOMLSyntaxError) -> TOMLValue? {
        let start = pos
        if let sign = peek(), sign == 0x2B || sign == 0x2D { pos += 1 }
        guard let first = peek(), Self.isDigit(first) else { pos = start; return nil }
        if first == 0x30 { pos += 1 } else { _ = digits(radix: 10) }
        var isFloat = false
        if peek() == 0x2E, let next = peek(1), Self.isDigit(next) {
            pos += 1
            _ = digits(radix: 10)
            isFloat = true
        }
        if let e = peek(), e == 0x65 || e == 0x45 {
            let mark = pos
            pos += 1
            if let sign = peek(), sign == 0x2B || sign == 0x2D { pos += 1 }
            if let next = peek(), Self.isDigit(next) {
                _ = digits(radix: 10)
                isFloat = true
            } else {
                pos = mark
            }
        }
        let text = text(start, pos).replacing("_", with: "")
        if isFloat {
            guard let value = Double(text) else { throw fail("not a number TOML can read", at: start) }
            return .float(value)
        }
        guard let value = Int64(text) else { throw fail("the integer does not fit in 64 bits", at: start) }
        return .integer(value)
    }

    /// Digits of the radix, single underscores between them; false when none.
    private mutating func digits(radix: Int) -> Bool {
        guard let first = peek(), Self.isDigit(first, radix: radix) else { return false }
        pos += 1
        while let char = peek() {
            if Self.isDigit(char, radix: radix) { pos += 1; continue }
            if char == 0x5F, let next = peek(1), Self.isDigit(next, radix: radix) { pos += 2; continue }
            break
        }
        return true
    }

    private mutating func dateTime() throws(TOMLSyntaxError) -> TOMLValue? {
        let start = pos
        guard let year = fixed(4), take(0x2D), let month = fixed(2), (1...12).contains(month), take(0x2D),
              let day = fixed(2), (1...31).contains(day) else { pos = start; return nil }
        var value = TOMLDateTime(year: year, month: month, day: day)
        let dateEnd = pos
        var kind = 0  // 0 date, 1 local date-time, 2 offset date-time
        if let separator = peek(), separator == 0x54 || separator == 0x74 || separator == 0x20 {
            pos += 1
            if let time = try localTime() {
                (value.hour, value.minute, value.second, value.microsecond) = (time.hour, time.minute, time.second, time.microsecond)
                kind = 1
                let mark = pos
                if let z = peek(), z == 0x5A || z == 0x7A {
                    pos += 1
                    value.offsetMinutes = 0
                    kind = 2
                } else if let sign = peek(), sign == 0x2B || sign == 0x2D {
                    pos += 1
                    if let hours = fixed(2), hours <= 23, take(0x3A), let minutes = fixed(2), minutes <= 59 {
                        value.offsetMinutes = (sign == 0x2D ? -1 : 1) * (hours * 60 + minutes)
                        kind = 2
                    } else {
                        pos = mark
                    }
                }
            } else {
                pos = dateEnd
            }
        }
        guard year >= 1, day <= Self.days(month: month, year: year) else { throw fail("not a date the calendar has", at: start) }
        switch kind {
        case 0: return .localDate(value)
        case 1: return .localDateTime(value)
        default: return .offsetDateTime(value)
        }
    }

    private mutating func localTime() throws(TOMLSyntaxError) -> TOMLDateTime? {
        let start = pos
        guard let hour = fixed(2), hour <= 23, take(0x3A), let minute = fixed(2), minute <= 59, take(0x3A),
              let second = fixed(2), second <= 59 else { pos = start; return nil }
        var value = TOMLDateTime(hour: hour, minute: minute, second: second)
        if peek() == 0x2E, let next = peek(1), Self.isDigit(next) {
            pos += 1
            var count = 0, micros = 0
            while let char = peek(), Self.isDigit(char) {
                if count < 6 { micros = micros * 10 + Int(char - 0x30) }
                count += 1
                pos += 1
            }
            for _ in min(count, 6)..<6 { micros *= 10 }
            value.microsecond = micros
        }
        return value
    }

    private mutating func fixed(_ count: Int) -> Int? {
        guard pos + count <= src.count, src[pos..<(pos + count)].allSatisfy({ Self.isDigit($0) }) else { return nil }
        defer { pos += count }
        return src[pos..<(pos + count)].reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        pos += 1
        return true
    }

    private static func days(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // MARK: Whitespace and comments

    private mutating func skipWhitespace() {
        while let char = peek(), char == 0x20 || char == 0x09 { pos += 1 }
    }

    private mutating func skipComment() throws(TOMLSyntaxError) {
        guard peek() == 0x23 else { return }
        while let char = peek(), char != 0x0A {
            if Self.isControl(char) && char != 0x09 { throw fail("a control character in a comment") }
            pos += 1
        }
    }

    private mutating func skipArraySpace() throws(TOMLSyntaxError) {
        while true {
            let before = pos
            while let char = peek(), char == 0x20 || char == 0x09 || char == 0x0A { pos += 1 }
            try skipComment()
            if pos == before { return }
        }
    }

    // MARK: Bytes

    private func peek(_ offset: Int = 0) -> UInt8? { pos + offset < src.count ? src[pos + offset] : nil }

    private func starts(with prefix: String) -> Bool {
        let bytes = Array(prefix.utf8)
        return pos + bytes.count <= src.count && src[pos..<(pos + bytes.count)].elementsEqual(bytes)
    }

    private func text(_ start: Int, _ end: Int) -> String { String(decoding: src[start..<end], as: UTF8.self) }

    private func fail(_ reason: String, at offset: Int? = nil) -> TOMLSyntaxError {
        let at = min(offset ?? pos, src.count)
        var line = 1, lineStart = 0
        for index in 0..<at where src[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        let column = String(decoding: src[lineStart..<at], as: UTF8.self).count + 1
        return TOMLSyntaxError(line: line, column: column, reason: reason)
    }

    private static func isBareKey(_ c: UInt8) -> Bool {
        (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || (0x30...0x39).contains(c) || c == 0x5F || c == 0x2D
    }
    private static func isControl(_ c: UInt8) -> Bool { c < 0x20 || c == 0x7F }
    private static func isDigit(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) }
    private static func isDigit(_ c: UInt8, radix: Int) -> Bool {
        switch radix {
        case 2: c == 0x30 || c == 0x31
        case 8: (0x30...0x37).contains(c)
        case 16: isHex(c)
        default: isDigit(c)
        }
    }
    private static func isHex(_ c: UInt8) -> Bool { isDigit(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c) }
    private static func hexValue(_ c: UInt8) -> UInt8 { isDigit(c) ? c - 0x30 : (c | 0x20) - 0x61 + 10 }
    private static func dotted(_ key: some Collection<String>) -> String { key.joined(separator: ".") }
}

// MARK: The document while it is read

/// A table being built: reference semantics, so that headers can reopen it.
private final class Box {
    enum Entry {
        case value(TOMLValue)
        case table(Box)
        case tables([Box])
    }

    var keys: [String] = []
    var entries = ScalarKeyed<Entry>()

    func insert(_ key: String, _ entry: Entry) {
        if entries[key] == nil { keys.append(key) }
        entries[key] = entry
    }

    /// The table at `path`, made where missing; through an array of tables its last
    /// element. Nil when a key on the way holds something else.
    func nest(_ path: [String], throughArrays: Bool) -> Box? {
        var current = self
        for key in path {
            switch current.entries[key] {
            case nil:
                let made = Box()
                current.insert(key, .table(made))
                current = made
            case .table(let inner)?: current = inner
            case .tables(let list)? where throughArrays: current = list[list.count - 1]
            default: return nil
            }
        }
        return current
    }

    var table: TOMLTable {
        var result = TOMLTable()
        for key in keys {
            switch entries[key]! {
            case .value(let value): result[key] = value
            case .table(let box): result[key] = .table(box.table)
            case .tables(let list): result[key] = .array(list.map { .table($0.table) })
            }
        }
        return result
    }
}

/// What may still be done to a key path (kept apart from the data, by name).
private struct FlagNode {
    enum Flag { case frozen, explicitNest }
    var flags: Set<Flag> = []
    var recursive: Set<Flag> = []
    var nested = ScalarKeyed<FlagNode>()

    func has(_ key: [String], _ flag: Flag) -> Bool {
        guard !key.isEmpty else { return false }
        var node = self
        for part in key.dropLast() {
            guard let inner = node.nested[part] else { return false }
            if inner.recursive.contains(flag) { return true }
            node = inner
        }
        guard let last = node.nested[key[key.count - 1]] else { return false }
        return last.flags.contains(flag) || last.recursive.contains(flag)
    }

    mutating func set(_ key: some Collection<String>, _ flag: Flag, recursive isRecursive: Bool) {
        guard let first = key.first else {
            if isRecursive { recursive.insert(flag) } else { flags.insert(flag) }
            return
        }
        var node = nested[first] ?? FlagNode()
        nested[first] = nil
        node.set(key.dropFirst(), flag, recursive: isRecursive)
        nested[first] = node
    }

    mutating func unsetAll(_ key: some Collection<String>) {
        guard let first = key.first else { return }
        if key.count == 1 { nested[first] = nil; return }
        guard nested[first] != nil else { return }
        nested[first]!.unsetAll(key.dropFirst())
    }
}

/// A dictionary keyed by a key's Unicode scalars, not by `String` equality: TOML keys that
/// are canonically equivalent but spelled differently (`é` and `e` + U+0301) are two keys.
struct ScalarKeyed<Value> {
    private var storage: [[UInt8]: Value] = [:]
    subscript(key: String) -> Value? {
        get { storage[Array(key.utf8)] }
        set { storage[Array(key.utf8)] = newValue }
    }
}

extension ScalarKeyed: Equatable where Value: Equatable {}
extension ScalarKeyed: Sendable where Value: Sendable {}
