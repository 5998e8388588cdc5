import Foundation
import StationStore
import TextFormats

extension LineReport {
    /// A record as the JSON report prints it: every stored field, and beside them what the
    /// CSV and HTML say in words (Device OS before, import state, failure meaning).
    struct JSONRecord: Encodable {
        let record: ProvisioningRecord
        let importState: String
        let explanation: FailureExplanation?

        enum Extra: String, CodingKey { case deviceOSBefore, importState, failureMeaning, next, timeline }

        struct Step: Encodable {
            let step: String
            let name: String
            let at: Double
            let seconds: Double
        }

        func encode(to encoder: any Encoder) throws {
            try record.encode(to: encoder)
            var extra = encoder.container(keyedBy: Extra.self)
            try extra.encode(record.deviceOSVersion, forKey: .deviceOSBefore)
            try extra.encode(importState, forKey: .importState)
            try extra.encodeIfPresent(explanation?.meaning, forKey: .failureMeaning)
            try extra.encodeIfPresent(explanation?.next, forKey: .next)
            try extra.encode(LineReport.timeline(record).map { Step(step: $0.step, name: HumanNames.step($0.step), at: $0.start, seconds: $0.seconds) },
                             forKey: .timeline)
        }
    }

    struct JSONShape: Encodable {
        let since: Date?
        let until: Date?
        let first: Date?
        let last: Date?
        let devices: Int
        let attempts: Int
        let passed: Int
        let failed: Int
        let `protected`: Int
        let firstPassYield: Double
        let yield: Double
        let throughputPerHour: Double
        let failuresByCode: [String: Int]
        let pareto: [ParetoEntry]
        let buckets: [Bucket]
        let bucketMinutes: Int
        let breakdowns: Breakdowns
        let stations: [String]
        let records: [JSONRecord]
    }

    /// `{devices, attempts, passed, failed, protected, firstPassYield, failuresByCode, pareto, buckets,
    /// breakdowns, records, ...}`.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let shape = JSONShape(since: since, until: until, first: first, last: last, devices: devices, attempts: attempts, passed: passed, failed: failed,
                              protected: `protected`, firstPassYield: firstPassYield, yield: yield, throughputPerHour: throughputPerHour, failuresByCode: failuresByCode,
                              pareto: pareto, buckets: buckets, bucketMinutes: Int(Self.bucketSeconds / 60), breakdowns: breakdowns, stations: stations,
                              records: records.map { JSONRecord(record: $0, importState: importState($0), explanation: $0.failureCode.flatMap { explanations[$0] }) })
        return String(decoding: try encoder.encode(shape), as: UTF8.self)
    }

    public static let csvColumns = [
        "station", "line", "operator", "device_id", "attempt", "platform", "serial", "iccid", "imei", "device_os_before", "device_os_after", "scan",
        "started_at", "finished_at", "duration_s", "result", "failure_code", "failure_meaning", "next_step", "failure_message", "written", "import", "protection",
    ]

    /// One row per attempt (RFC 4180: quoted fields, CRLF line ends). `result` is PASS, FAIL,
    /// or PROTECTED (refused because the unit is protected: routed to rework, not a failure).
    /// `includeSecrets`: a `mobile_secret` column at the end (an explicit export).
    public func csv(includeSecrets: Bool = false) -> String {
        func field(_ value: String?) -> String { CSVWriter.field(value ?? "") }
        let iso = ISO8601DateFormatter()
        var lines = [(Self.csvColumns + (includeSecrets ? ["mobile_secret"] : [])).joined(separator: ",")]
        for r in records {
            let written = r.written.isEmpty ? "nothing written" : r.written.map { "\($0.file):\($0.action):\($0.sha256.prefix(12))" }.joined(separator: " ")
            let explanation = r.failureCode.flatMap { explanations[$0] }
            lines.append([r.stationID, r.line, r.operatorName, r.deviceID, String(r.attempt), r.platform, r.serialNumber, r.iccid, r.imei, r.deviceOSVersion,
                          r.deviceOSAfter, r.scan, iso.string(from: r.startedAt), iso.string(from: r.finishedAt), String(format: "%.1f", r.duration),
                          r.passed ? "PASS" : Self.isProtected(r) ? "PROTECTED" : "FAIL", r.failureCode, explanation?.meaning, explanation?.next, r.failureMessage, written, importState(r), r.protection]
                .map(field).joined(separator: ",") + (includeSecrets ? "," + field(r.mobileSecret) : ""))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// One step of an attempt as a bar: where it starts and how long it lasted.
    struct Span {
        let step: String
        let start: Double
        let seconds: Double
    }

    /// The attempt's steps, each lasting until the next one began (the last until the
    /// attempt finished; PASS and FAIL are instants).
    static func timeline(_ record: ProvisioningRecord) -> [Span] {
        let steps = record.steps.sorted { $0.at < $1.at }
        return steps.enumerated().map { index, step in
            let end = index + 1 < steps.count ? steps[index + 1].at : max(step.at, record.duration)
            return Span(step: step.step, start: step.at, seconds: max(0, end - step.at))
        }
    }
}
