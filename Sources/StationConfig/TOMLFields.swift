import TextFormats

/// A TOML file that cannot be used: which file, which key, what is wrong, and what to do.
public struct ConfigFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public let file: String
    public let key: String?
    public let problem: String

    public init(file: String, key: String?, problem: String) {
        self.file = file
        self.key = key
        self.problem = problem
    }

    public var description: String {
        if let key { return "\(file): \(key): \(problem)" }
        return "\(file): \(problem)"
    }
}

/// One TOML table read strictly: a key the reader does not know is an error (a typo must
/// not be silently ignored), and every getter names the key it was reading.
public struct TOMLFields {
    public let table: TOMLTable
    /// Where this table is, e.g. `device[2]`.
    public let path: String
    public let file: String

    public init(_ table: TOMLTable, path: String, file: String, allowed: [String]) throws(ConfigFileError) {
        self.table = table
        self.path = path
        self.file = file
        for key in table.keys where !allowed.contains(key) {
            throw ConfigFileError(file: file, key: name(key), problem: "unknown key; the keys here are \(allowed.joined(separator: ", ")).")
        }
    }

    /// Parses a whole file's text (a UTF-8 byte-order mark at its start is dropped).
    public static func parse(_ text: String, file: String) throws(ConfigFileError) -> TOMLTable {
        let body = text.unicodeScalars.first == "\u{FEFF}" ? String(text.unicodeScalars.dropFirst()) : text
        do {
            return try TOMLReader.parse(body)
        } catch {
            throw ConfigFileError(file: file, key: nil, problem: "line \(error.line), column \(error.column): \(error.reason); fix the TOML syntax there.")
        }
    }

    public func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func fail(_ key: String, _ problem: String) -> ConfigFileError { ConfigFileError(file: file, key: name(key), problem: problem) }

    public func string(_ key: String) throws(ConfigFileError) -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else { throw fail(key, "expected a string in quotes, e.g. \(key) = \"...\".") }
        return text
    }

    public func bool(_ key: String) throws(ConfigFileError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let flag = value.bool else { throw fail(key, "expected true or false.") }
        return flag
    }

    public func int(_ key: String) throws(ConfigFileError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let number = value.int else { throw fail(key, "expected a whole number.") }
        return number
    }

    /// A number of seconds, whole or not, from 0 to `maximum` (a day unless said): every
    /// duration the station waits is far shorter, and a bound keeps `1e300` from trapping.
    public func seconds(_ key: String, maximum: Int = 86_400) throws(ConfigFileError) -> Duration? {
        guard let value = table[key] else { return nil }
        if let whole = value.int, (0...maximum).contains(whole) { return .seconds(whole) }
        if let fraction = value.double, fraction >= 0, fraction <= Double(maximum) { return .seconds(fraction) }
        throw fail(key, "expected a number of seconds from 0 to \(maximum), e.g. \(key) = 20.")
    }

    public func strings(_ key: String) throws(ConfigFileError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw fail(key, "expected an array of strings, e.g. \(key) = [\"a\", \"b\"].") }
        var result: [String] = []
        for (index, item) in array.enumerated() {
            guard let text = item.string else { throw fail("\(key)[\(index + 1)]", "expected a string in quotes.") }
            result.append(text)
        }
        return result
    }

    /// A table (`[key]`), read strictly with its own allowed keys.
    public func table(_ key: String, allowed: [String]) throws(ConfigFileError) -> TOMLFields? {
        guard let value = table[key] else { return nil }
        guard let inner = value.table else { throw fail(key, "expected a [\(name(key))] table.") }
        return try TOMLFields(inner, path: name(key), file: file, allowed: allowed)
    }

    /// An array of tables (`[[key]]`).
    public func tables(_ key: String) throws(ConfigFileError) -> [TOMLTable]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw fail(key, "expected [[\(key)]] tables.") }
        var result: [TOMLTable] = []
        for (index, item) in array.enumerated() {
            guard let table = item.table else { throw fail("\(key)[\(index + 1)]", "expected a [[\(key)]] table.") }
            result.append(table)
        }
        return result
    }
}
