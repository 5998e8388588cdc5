import Foundation
import StationStore

/// What a failure code means and what the technician does next, as the failure table says
/// (the CLI resolves it; the report only carries it).
public struct FailureExplanation: Hashable, Sendable, Encodable {
    public let meaning: String
    /// The next step's short name ("replug and retry", ...).
    public let next: String
    public init(meaning: String, next: String) {
        self.meaning = meaning
        self.next = next
    }
}

/// A line-wide report over attempt records from one or more stations: yield, first-pass
/// yield, throughput, failures by code (Pareto) with their meaning, breakdowns by station,
/// operator, platform and Device OS, and each device's trace. Pure: records in, values and
/// documents (JSON, CSV, HTML) out; every number is computed here once, so the three
/// documents agree.
public struct LineReport: Sendable {
    public struct ParetoEntry: Hashable, Sendable, Encodable {
        public let code: String
        public let count: Int
        /// Cumulative share of all failed attempts up to this code, 0-1.
        public let cumulative: Double
        public let meaning: String?
        public let next: String?
    }

    /// Attempts finished in one 15-minute interval.
    public struct Bucket: Hashable, Sendable, Encodable {
        public let start: Date
        public let passed: Int
        public let failed: Int
    }

    /// One group of a breakdown (one station, operator, platform or Device OS).
    public struct Group: Hashable, Sendable, Encodable {
        public let key: String
        public let devices: Int
        public let attempts: Int
        /// Attempts that passed / failed (a protected unit's refusal is not a failure).
        public let passed: Int
        public let failed: Int
        /// Attempts refused because the unit is protected (routed to the online rework bench).
        public let `protected`: Int
        /// Passed attempts over the attempts the bench could make (protected ones left out), 0-1.
        public let passRate: Double
    }

    public struct Breakdowns: Hashable, Sendable, Encodable {
        public let station: [Group]
        public let `operator`: [Group]
        public let platform: [Group]
        /// By the Device OS the device arrived with (before flashing).
        public let deviceOS: [Group]
    }

    public static let bucketSeconds: Double = 15 * 60

    /// Failure codes that mean the unit is protected (Device Protection): the bench may not
    /// write it, it goes to the online rework bench. Counted apart: not a failure of the bench.
    public static let protectedCodes: Set<String> = ["PLAN-PROTECTED", "CTRL-DEVICE-PROTECTED", "GUARD-PROTECTED"]

    /// Whether an attempt ended because the unit is protected.
    public static func isProtected(_ record: ProvisioningRecord) -> Bool {
        !record.passed && protectedCodes.contains(record.failureCode ?? "")
    }

    /// Records in time order, one per attempt (duplicates across merged stores removed).
    public let records: [ProvisioningRecord]
    /// The range asked for (nil: open).
    public let since: Date?
    public let until: Date?
    /// Distinct devices.
    public let devices: Int
    public let attempts: Int
    /// Devices whose last attempt passed / failed (failed: by a fault the bench saw, not
    /// because the unit is protected).
    public let passed: Int
    public let failed: Int
    /// Devices whose last attempt was refused because the unit is protected (Device
    /// Protection; or in Service Mode on a line that does not flash those): routed to the
    /// online rework bench, counted apart from failures and left out of the yields.
    public let `protected`: Int
    /// Devices that passed on their first attempt, over the devices the bench could make
    /// (protected ones left out), 0-1.
    public let firstPassYield: Double
    /// Devices that passed in the end, over the devices the bench could make, 0-1.
    public let yield: Double
    /// Passed devices per hour over the span from the first start to the last finish.
    public let throughputPerHour: Double
    /// Failed attempts by failure code (protected units' refusals not among them).
    public let failuresByCode: [String: Int]
    public let pareto: [ParetoEntry]
    /// 15-minute buckets from the first attempt's to the last's, empty ones included.
    public let buckets: [Bucket]
    public let breakdowns: Breakdowns
    /// The meaning and next step of each failure code in the records.
    public let explanations: [String: FailureExplanation]
    public let stations: [String]
    /// Each device's last attempt (station and attempt number).
    let lastAttempts: [String: String]
    public let first: Date?
    public let last: Date?

    /// - Parameter explain: the failure table's entry for a code (nil: unknown code).
    public init(records input: [ProvisioningRecord], since: Date? = nil, until: Date? = nil, explain: (String) -> FailureExplanation? = { _ in nil }) {
        var seen = Set<String>()
        let records = input.sorted { ($0.startedAt, $0.finishedAt, $0.attempt) < ($1.startedAt, $1.finishedAt, $1.attempt) }.filter { record in
            seen.insert("\(record.stationID)\u{0}\(record.deviceID)\u{0}\(record.attempt)").inserted
        }
        self.records = records
        self.since = since
        self.until = until
        let byDevice = Dictionary(grouping: records, by: { $0.deviceID.lowercased() })
        devices = byDevice.count
        attempts = records.count
        passed = byDevice.values.filter { $0.last?.passed == true }.count
        `protected` = byDevice.values.filter { $0.last.map(Self.isProtected) == true }.count
        failed = devices - passed - `protected`
        // First pass: the device's very first attempt passed (a range that starts after a
        // failed first attempt does not make its second one a first pass).
        let firstPass = byDevice.values.filter { $0.first?.passed == true && $0.first?.attempt == 1 }.count
        let made = devices - `protected`
        firstPassYield = made == 0 ? 0 : Double(firstPass) / Double(made)
        yield = made == 0 ? 0 : Double(passed) / Double(made)
        var codes: [String: Int] = [:]
        for record in records where !record.passed && !Self.isProtected(record) { codes[record.failureCode ?? "UNKNOWN", default: 0] += 1 }
        failuresByCode = codes
        var explanations: [String: FailureExplanation] = [:]
        for code in codes.keys { explanations[code] = explain(code) }
        self.explanations = explanations
        pareto = Self.pareto(codes, explanations: explanations)
        first = records.map(\.startedAt).min()
        last = records.map(\.finishedAt).max()
        throughputPerHour = Self.throughput(passed: passed, first: first, last: last)
        buckets = Self.buckets(records)
        func groups(_ key: (ProvisioningRecord) -> String?) -> [Group] {
            Dictionary(grouping: records, by: { key($0) ?? "unknown" }).map { name, attempts in
                let passedAttempts = attempts.filter(\.passed).count
                let protectedAttempts = attempts.filter(Self.isProtected).count
                let made = attempts.count - protectedAttempts
                return Group(key: name, devices: Set(attempts.map { $0.deviceID.lowercased() }).count, attempts: attempts.count,
                             passed: passedAttempts, failed: made - passedAttempts, protected: protectedAttempts,
                             passRate: made == 0 ? 0 : Double(passedAttempts) / Double(made))
            }.sorted { ($1.attempts, $0.key) < ($0.attempts, $1.key) }
        }
        breakdowns = Breakdowns(station: groups(\.stationID), operator: groups(\.operatorName), platform: groups(\.platform), deviceOS: groups(\.deviceOSVersion))
        stations = Array(Set(records.map(\.stationID))).sorted()
        lastAttempts = byDevice.compactMapValues { $0.last.map { "\($0.stationID)\u{0}\($0.attempt)" } }
    }

    /// Passed devices per hour between the first start and the last finish (at least a
    /// minute); 0 without records.
    public static func throughput(passed: Int, first: Date?, last: Date?) -> Double {
        guard let first, let last else { return 0 }
        return Double(passed) / (max(60, last.timeIntervalSince(first)) / 3600)
    }

    /// Failed attempts by code as the Pareto: most first (ties by code), each with the
    /// cumulative share and the failure table's meaning and next step.
    public static func pareto(_ codes: [String: Int], explanations: [String: FailureExplanation]) -> [ParetoEntry] {
        let totalFailures = codes.values.reduce(0, +)
        var running = 0
        return codes.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { code, count in
            running += count
            return ParetoEntry(code: code, count: count, cumulative: totalFailures == 0 ? 0 : Double(running) / Double(totalFailures),
                               meaning: explanations[code]?.meaning, next: explanations[code]?.next)
        }
    }

    static func buckets(_ records: [ProvisioningRecord]) -> [Bucket] {
        guard !records.isEmpty else { return [] }
        func start(_ date: Date) -> Double { (date.timeIntervalSince1970 / bucketSeconds).rounded(.down) * bucketSeconds }
        var counts: [Double: (passed: Int, failed: Int)] = [:]
        for record in records where !isProtected(record) {
            var bucket = counts[start(record.finishedAt)] ?? (0, 0)
            if record.passed { bucket.passed += 1 } else { bucket.failed += 1 }
            counts[start(record.finishedAt)] = bucket
        }
        return buckets(counts)
    }

    /// A chart's bars: the 15-minute buckets merged into the shortest interval (15 min,
    /// 30 min, 1 h, 2 h, 6 h, 12 h, a day) that keeps the chart at 120 bars or fewer, so a
    /// week or a month fits a page as well as an hour does; empty intervals between the
    /// first and the last stay (a stopped line shows as a gap).
    static func chartBars(_ buckets: [LineReport.Bucket]) -> (seconds: Int, bars: [LineReport.Bucket]) {
        guard let first = buckets.first?.start.timeIntervalSince1970, let last = buckets.last?.start.timeIntervalSince1970 else { return (900, []) }
        let seconds = [900, 1800, 3600, 7200, 21_600, 43_200, 86_400].first { Int((last - first) / Double($0)) + 1 <= 120 } ?? 86_400
        let width = Double(seconds)
        var counts: [Double: (passed: Int, failed: Int)] = [:]
        for bucket in buckets {
            let key = (bucket.start.timeIntervalSince1970 / width).rounded(.down) * width
            let sum = counts[key] ?? (0, 0)
            counts[key] = (sum.passed + bucket.passed, sum.failed + bucket.failed)
        }
        guard let low = counts.keys.min(), let high = counts.keys.max() else { return (seconds, []) }
        let bars = (0...Int((high - low) / width)).map { step in
            let key = low + Double(step) * width
            return LineReport.Bucket(start: Date(timeIntervalSince1970: key), passed: counts[key]?.passed ?? 0, failed: counts[key]?.failed ?? 0)
        }
        return (seconds, bars)
    }

    static func intervalName(_ seconds: Int) -> String {
        switch seconds {
        case 86_400: "day"
        case 3600: "hour"
        case let s where s < 3600: "\(s / 60) minutes"
        default: "\(seconds / 3600) hours"
        }
    }

    /// Passed and failed attempts per 15-minute interval (keyed by the interval's start, in
    /// seconds since 1970) as the report's buckets: empty intervals between the first and the
    /// last stay (a stopped line shows as a gap), up to a week of them.
    public static func buckets(_ counts: [Double: (passed: Int, failed: Int)]) -> [Bucket] {
        guard let firstStart = counts.keys.min(), let lastStart = counts.keys.max() else { return [] }
        let span = Int((lastStart - firstStart) / bucketSeconds) + 1
        let keys = span <= 7 * 24 * 4 ? (0..<span).map { firstStart + Double($0) * bucketSeconds } : counts.keys.sorted()
        return keys.map { Bucket(start: Date(timeIntervalSince1970: $0), passed: counts[$0]?.passed ?? 0, failed: counts[$0]?.failed ?? 0) }
    }

    /// Every attempt of one device, in order.
    public func trace(_ deviceID: String) -> [ProvisioningRecord] {
        records.filter { $0.deviceID.lowercased() == deviceID.lowercased() }
    }

    /// What the report says about an attempt's import: the queue state for a passed attempt;
    /// for a failed one "not queued", unless it is the device's last attempt and its import
    /// was queued and then withdrawn (a connectivity line queues before its test).
    public func importState(_ record: ProvisioningRecord) -> String {
        if record.passed { return record.importOutcome ?? "not queued" }
        if lastAttempts[record.deviceID.lowercased()] == "\(record.stationID)\u{0}\(record.attempt)", let outcome = record.importOutcome { return outcome }
        return "not queued"
    }
}

/// Names a person reads, for the pipeline's steps, module functions and flash actions as the
/// store keeps them. Data: a new step or function is a line here; an unknown one is shown as
/// the store has it.
public enum HumanNames {
    public static let steps: [String: String] = [
        "detected": "Detected", "identifying": "Identify", "waitingForScan": "Wait for the sticker scan", "flashing": "Flash",
        "finishing": "Final state", "connectivityTest": "Connectivity test", "passed": "PASS", "failed": "FAIL", "interrupted": "Unplugged",
    ]
    public static let functions: [String: String] = [
        "bootloader": "Bootloader", "systemPart": "Device OS", "userPart": "Product firmware", "radioStack": "Radio stack (SoftDevice)",
        "ncpFirmware": "Cellular modem (NCP) firmware", "monoFirmware": "Monolithic firmware", "resource": "Resource", "settings": "Settings",
        "asset": "Asset", "none": "Unknown module",
    ]
    public static let actions: [String: String] = [
        "written": "written", "already-installed": "already installed", "skipped": "already installed", "control-request": "sent by control request",
    ]

    public static func step(_ raw: String) -> String { steps[raw] ?? raw }
    public static func function(_ raw: String) -> String { functions[raw] ?? raw }
    public static func action(_ raw: String) -> String { actions[raw] ?? raw }

    /// "Device OS #1 v6200" and friends, for a module version line.
    public static func module(_ module: ProvisioningRecord.ModuleVersion) -> String {
        "\(function(module.function))\(module.index > 0 ? " \(module.index)" : "") v\(module.version)\(module.valid ? "" : " INVALID")"
    }

    /// What an attempt wrote, in words ("nothing written" when it wrote nothing).
    public static func written(_ written: [ProvisioningRecord.WrittenModule]) -> String {
        written.isEmpty ? "nothing written" : written.map { "\($0.file) (\(action($0.action)))" }.joined(separator: "; ")
    }
}
