/// A TOML 1.0 value as the station reads it.
public enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case bool(Bool)
    /// `1979-05-27T07:32:00-08:00`: date, time and offset.
    case offsetDateTime(TOMLDateTime)
    /// `1979-05-27T07:32:00`: date and time, no offset.
    case localDateTime(TOMLDateTime)
    /// `1979-05-27`.
    case localDate(TOMLDateTime)
    /// `07:32:00`.
    case localTime(TOMLDateTime)
    case array([TOMLValue])
    case table(TOMLTable)

    public var string: String? { if case .string(let value) = self { value } else { nil } }
    public var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var int: Int? { if case .integer(let value) = self { Int(exactly: value) } else { nil } }
    /// A float; an integer is not a float here (the caller decides whether it takes both).
    public var double: Double? { if case .float(let value) = self { value } else { nil } }
    public var array: [TOMLValue]? { if case .array(let value) = self { value } else { nil } }
    public var table: TOMLTable? { if case .table(let value) = self { value } else { nil } }
}

/// A TOML table: its keys in the order the file gives them.
public struct TOMLTable: Equatable, Sendable {
    public private(set) var keys: [String] = []
    /// Canonically equivalent spellings are different keys.
    private var values = ScalarKeyed<TOMLValue>()

    public init() {}

    public subscript(key: String) -> TOMLValue? {
        get { values[key] }
        set {
            if values[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil, values[key] != nil { keys.removeAll { Array($0.utf8) == Array(key.utf8) } }
            values[key] = newValue
        }
    }

    public var isEmpty: Bool { keys.isEmpty }
}

/// The parts of a TOML date, time or date-time. Fractional seconds are kept to the
/// microsecond (digits past the sixth are dropped, as TOML allows).
public struct TOMLDateTime: Equatable, Sendable {
    public var year = 0, month = 0, day = 0
    public var hour = 0, minute = 0, second = 0, microsecond = 0
    /// Minutes east of UTC, for an offset date-time.
    public var offsetMinutes: Int?

    public init(year: Int = 0, month: Int = 0, day: Int = 0, hour: Int = 0, minute: Int = 0, second: Int = 0, microsecond: Int = 0, offsetMinutes: Int? = nil) {
        (self.year, self.month, self.day) = (year, month, day)
        (self.hour, self.minute, self.second, self.microsecond) = (hour, minute, second, microsecond)
        self.offsetMinutes = offsetMinutes
    }
}
