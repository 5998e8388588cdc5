import Foundation
import StationStore

/// The time range a dashboard page covers: the last 12 hours by default, or one of the
/// choices, in the server's time zone.
public struct DashboardRange: Hashable, Sendable, Encodable {
    public struct Choice: Hashable, Sendable {
        public let key: String
        public let seconds: Double
        public let label: String
    }

    public static let choices = [
        Choice(key: "1h", seconds: 3600, label: "last hour"), Choice(key: "12h", seconds: 12 * 3600, label: "last 12 hours"),
        Choice(key: "24h", seconds: 24 * 3600, label: "last 24 hours"), Choice(key: "7d", seconds: 7 * 86400, label: "last 7 days"),
        Choice(key: "30d", seconds: 30 * 86400, label: "last 30 days"),
    ]
    public static let defaultKey = "12h"

    public let key: String
    public let since: Date
    public let until: Date
    public let label: String

    /// `key` one of the choices' keys; anything else (or nil) is the default.
    public init(_ key: String?, now: Date) {
        let choice = Self.choices.first { $0.key == key } ?? Self.choices.first { $0.key == Self.defaultKey }!
        self.key = choice.key
        self.since = now.addingTimeInterval(-choice.seconds)
        self.until = now
        self.label = choice.label
    }
}

/// A station as the dashboard's line page shows it: over the range, devices by their last
/// attempt at that station (`station report --station ID` gives the same numbers).
public struct StationSummary: Hashable, Sendable, Encodable {
    public init(id: String, line: String?, lastActivity: Date?, now: Date, totals: DashboardOverview.Totals, lastOperator: String?) {
        self.id = id
        self.line = line
        self.lastActivity = lastActivity
        active = lastActivity.map { now.timeIntervalSince($0) <= DashboardOverview.activeWithin } ?? false
        devices = totals.devices
        passed = totals.passed
        failed = totals.failed
        `protected` = totals.protected
        yield = totals.yield
        firstPassYield = totals.firstPassYield
        throughputPerHour = totals.throughputPerHour
        self.lastOperator = lastOperator
    }

    public let id: String
    public let line: String?
    /// The end of its latest attempt (nil: none in the range).
    public let lastActivity: Date?
    /// An attempt finished within `DashboardOverview.activeWithin` of the page's time.
    public let active: Bool
    public let devices: Int
    public let passed: Int
    public let failed: Int
    public let `protected`: Int
    public let yield: Double
    public let firstPassYield: Double
    public let throughputPerHour: Double
    public let lastOperator: String?
}

/// The line now (`/`): totals, a card per station, failures by code with the failure table's
/// meaning and next step, and passed/failed per 15 minutes.
public struct DashboardOverview: Sendable, Encodable {
    public struct Totals: Hashable, Sendable, Encodable {
        public let devices: Int
        public let attempts: Int
        public let passed: Int
        public let failed: Int
        public let `protected`: Int
        public let yield: Double
        public let firstPassYield: Double
        public let throughputPerHour: Double

        /// From counts made elsewhere (the line database's aggregates), by the report's rules:
        /// devices by their last attempt, protected units out of both yields.
        public init(devices: Int, attempts: Int, passed: Int, protected: Int, firstPasses: Int, first: Date?, last: Date?) {
            self.devices = devices
            self.attempts = attempts
            self.passed = passed
            self.protected = `protected`
            failed = devices - passed - `protected`
            let made = devices - `protected`
            yield = made == 0 ? 0 : Double(passed) / Double(made)
            firstPassYield = made == 0 ? 0 : Double(firstPasses) / Double(made)
            throughputPerHour = LineReport.throughput(passed: passed, first: first, last: last)
        }

        init(_ report: LineReport) {
            devices = report.devices
            attempts = report.attempts
            passed = report.passed
            failed = report.failed
            `protected` = report.protected
            yield = report.yield
            firstPassYield = report.firstPassYield
            throughputPerHour = report.throughputPerHour
        }
    }

    /// A station is active when its latest attempt ended this recently.
    public static let activeWithin: Double = 10 * 60

    public let range: DashboardRange
    public let generatedAt: Date
    public let totals: Totals
    public let stations: [StationSummary]
    public let failures: [LineReport.ParetoEntry]
    public let buckets: [LineReport.Bucket]

    /// From parts counted elsewhere (the line database's aggregates).
    public init(range: DashboardRange, generatedAt: Date, totals: Totals, stations: [StationSummary], failures: [LineReport.ParetoEntry], buckets: [LineReport.Bucket]) {
        self.range = range
        self.generatedAt = generatedAt
        self.totals = totals
        self.stations = stations
        self.failures = failures
        self.buckets = buckets
    }

    /// From the records of the range, as `station report` reads them (so its numbers are the
    /// report's).
    public init(records: [ProvisioningRecord], range: DashboardRange, now: Date, explain: (String) -> FailureExplanation?) {
        let report = LineReport(records: records, since: range.since, until: range.until, explain: explain)
        self.range = range
        generatedAt = now
        totals = Totals(report)
        stations = report.stations.map { id in
            let own = report.records.filter { $0.stationID == id }
            let station = LineReport(records: own, since: range.since, until: range.until)
            let latest = own.max { $0.finishedAt < $1.finishedAt }
            return StationSummary(id: id, line: latest?.line, lastActivity: latest?.finishedAt, now: now, totals: Totals(station),
                                  lastOperator: latest?.operatorName)
        }
        failures = report.pareto
        buckets = report.buckets
    }
}

/// One station over a range (`/stations/ID`): its totals, failures, yield per 15 minutes,
/// operators and attempts, newest first.
public struct StationView: Sendable, Encodable {
    public struct AttemptRow: Hashable, Sendable, Encodable {
        public let deviceID: String
        public let attempt: Int
        public let finishedAt: Date
        public let operatorName: String?
        public let passed: Bool
        public let `protected`: Bool
        public let failureCode: String?
    }

    public let id: String
    public let range: DashboardRange
    public let totals: DashboardOverview.Totals
    public let failures: [LineReport.ParetoEntry]
    public let buckets: [LineReport.Bucket]
    public let operators: [LineReport.Group]
    public let attempts: [AttemptRow]

    /// Nil when the station recorded no attempt in the range.
    public init?(id: String, records: [ProvisioningRecord], range: DashboardRange, explain: (String) -> FailureExplanation?) {
        let own = records.filter { $0.stationID == id }
        guard !own.isEmpty else { return nil }
        let report = LineReport(records: own, since: range.since, until: range.until, explain: explain)
        self.id = id
        self.range = range
        totals = DashboardOverview.Totals(report)
        failures = report.pareto
        buckets = report.buckets
        operators = report.breakdowns.operator
        attempts = report.records.reversed().map {
            AttemptRow(deviceID: $0.deviceID, attempt: $0.attempt, finishedAt: $0.finishedAt, operatorName: $0.operatorName, passed: $0.passed,
                       protected: LineReport.isProtected($0), failureCode: $0.failureCode)
        }
    }
}

/// Failures by code over a range, of one station or all (`/failures`): the Pareto, each
/// code with the attempts that failed with it.
public struct FailuresView: Sendable, Encodable {
    public struct Code: Sendable, Encodable {
        public let code: String
        public let count: Int
        public let cumulative: Double
        public let meaning: String?
        public let next: String?
        public let attempts: [StationView.AttemptRow]
    }

    public let range: DashboardRange
    public let station: String?
    /// Every station with an attempt in the range (the page's choices).
    public let stations: [String]
    public let codes: [Code]

    public init(records: [ProvisioningRecord], range: DashboardRange, station: String?, explain: (String) -> FailureExplanation?) {
        let all = LineReport(records: records, since: range.since, until: range.until)
        let report = LineReport(records: station.map { id in records.filter { $0.stationID == id } } ?? records, since: range.since, until: range.until, explain: explain)
        self.range = range
        self.station = station
        stations = all.stations
        codes = report.pareto.map { entry in
            Code(code: entry.code, count: entry.count, cumulative: entry.cumulative, meaning: entry.meaning, next: entry.next,
                 attempts: report.records.reversed().filter { !$0.passed && ($0.failureCode ?? "UNKNOWN") == entry.code }.map {
                     StationView.AttemptRow(deviceID: $0.deviceID, attempt: $0.attempt, finishedAt: $0.finishedAt, operatorName: $0.operatorName,
                                            passed: false, protected: false, failureCode: $0.failureCode)
                 })
        }
    }
}

/// One device's whole history across stations and attempts (`/devices/ID`). Never its
/// mobile secret: the type has no field for it.
public struct DeviceHistory: Sendable, Encodable {
    public struct Attempt: Sendable, Encodable {
        public let stationID: String
        public let line: String?
        public let attempt: Int
        public let operatorName: String?
        public let startedAt: Date
        public let finishedAt: Date
        public let passed: Bool
        public let `protected`: Bool
        public let failureCode: String?
        public let failureMessage: String?
        public let failureMeaning: String?
        public let next: String?
        public let deviceOSBefore: String?
        public let deviceOSAfter: String?
        public let protection: String?
        public let steps: [ProvisioningRecord.StepTime]
        public let modulesBefore: [ProvisioningRecord.ModuleVersion]
        public let modulesAfter: [ProvisioningRecord.ModuleVersion]
        public let written: [ProvisioningRecord.WrittenModule]
        public let importState: String
        /// Kept for the page's timeline (not encoded: `steps` carries it).
        let record: ProvisioningRecord

        enum CodingKeys: String, CodingKey {
            case stationID, line, attempt, operatorName, startedAt, finishedAt, passed, `protected`, failureCode, failureMessage, failureMeaning, next
            case deviceOSBefore, deviceOSAfter, protection, steps, modulesBefore, modulesAfter, written, importState
        }
    }

    public let deviceID: String
    public let platform: String?
    public let serialNumber: String?
    public let iccid: String?
    public let imei: String?
    public let attempts: [Attempt]

    /// Nil when the records hold no attempt of the device.
    public init?(deviceID: String, records: [ProvisioningRecord], explain: (String) -> FailureExplanation?) {
        let report = LineReport(records: records, explain: explain)
        let own = report.trace(deviceID)
        guard let latest = own.last else { return nil }
        self.deviceID = latest.deviceID
        platform = own.compactMap(\.platform).last
        serialNumber = own.compactMap(\.serialNumber).last
        iccid = own.compactMap(\.iccid).last
        imei = own.compactMap(\.imei).last
        attempts = own.map { record in
            let explanation = record.failureCode.flatMap { explain($0) }
            var clean = record
            clean.mobileSecret = nil
            return Attempt(stationID: record.stationID, line: record.line, attempt: record.attempt, operatorName: record.operatorName, startedAt: record.startedAt,
                           finishedAt: record.finishedAt, passed: record.passed, protected: LineReport.isProtected(record), failureCode: record.failureCode,
                           failureMessage: record.failureMessage, failureMeaning: record.passed ? nil : explanation?.meaning, next: record.passed ? nil : explanation?.next,
                           deviceOSBefore: record.deviceOSVersion, deviceOSAfter: record.deviceOSAfter, protection: record.protection, steps: record.steps,
                           modulesBefore: record.modulesBefore, modulesAfter: record.modulesAfter, written: record.written, importState: report.importState(record),
                           record: clean)
        }
    }

    /// What a search term names: a device ID, a serial number, an ICCID or an IMEI, compared
    /// without case, spaces or dashes (a scanner or a person may add either). The device of
    /// the latest attempt that matches; nil when none does.
    public static func find(_ term: String, in records: [ProvisioningRecord]) -> String? {
        let wanted = normalized(term)
        guard !wanted.isEmpty else { return nil }
        return records.filter { record in
            [record.deviceID, record.serialNumber, record.iccid, record.imei].contains { $0.map(normalized) == wanted }
        }.max { $0.finishedAt < $1.finishedAt }?.deviceID
    }

    public static func normalized(_ text: String) -> String {
        String(text.lowercased().filter { !$0.isWhitespace && $0 != "-" })
    }
}

/// A source's failure as the dashboard shows it (its pages say "unavailable" with these,
/// its API answers 503): a stable code from the failure table and what to do.
public protocol DashboardSourceError: Error {
    var code: String { get }
    var message: String { get }
}

extension StoreError: DashboardSourceError {}

/// Where the dashboard's pages come from: one or more station stores (SQLite, read-only),
/// or the line database.
public protocol DashboardSource: Sendable {
    /// What the source reads, for the server's first line (`stores: a.sqlite, b.sqlite`).
    var name: String { get }
    func overview(_ range: DashboardRange, now: Date) async throws -> DashboardOverview
    /// Nil: no attempt of that station in the range.
    func station(_ id: String, range: DashboardRange) async throws -> StationView?
    /// Of one station (nil: all of them).
    func failures(_ range: DashboardRange, station: String?) async throws -> FailuresView
    func device(_ id: String) async throws -> DeviceHistory?
    /// The device a search term names (ID, serial number, ICCID, IMEI), or nil.
    func find(_ term: String) async throws -> String?
    /// Changes whenever something new is recorded: the live updates' trigger.
    func version() async throws -> String
}
