import Foundation
import StationStore

/// A line-wide report over attempt records from one or more stations: yield, first-pass
/// yield, throughput, failures by code (Pareto), and each device's trace. Pure: records in,
/// values and documents (JSON, CSV, HTML) out.
public struct LineReport: Sendable {
    public struct ParetoEntry: Hashable, Sendable, Encodable {
        public let code: String
        public let count: Int
        /// Cumulative share of all failed attempts up to this code, 0-1.
        public let cumulative: Double
    }

    public struct HourBucket: Hashable, Sendable, Encodable {
        public let hourStart: Date
        public let passed: Int
        public let failed: Int
    }

    /// Records in time order, one per attempt (duplicates across merged stores removed).
    public let records: [ProvisioningRecord]
    /// Distinct devices.
    public let devices: Int
    public let attempts: Int
    /// Devices whose last attempt passed / failed.
    public let passed: Int
    public let failed: Int
    /// Devices that passed on their first attempt, over all devices (0-1).
    public let firstPassYield: Double
    /// Devices that passed in the end, over all devices (0-1).
    public let yield: Double
    /// Passed devices per hour over the span from the first start to the last finish.
    public let throughputPerHour: Double
    /// Failed attempts by failure code.
    public let failuresByCode: [String: Int]
    public let pareto: [ParetoEntry]
    public let hours: [HourBucket]
    public let stations: [String]
    public let first: Date?
    public let last: Date?

    public init(records input: [ProvisioningRecord]) {
        var seen = Set<String>()
        let records = input.sorted { ($0.startedAt, $0.finishedAt) < ($1.startedAt, $1.finishedAt) }.filter { record in
            seen.insert("\(record.stationID)\u{0}\(record.deviceID)\u{0}\(record.attempt)").inserted
        }
        self.records = records
        let byDevice = Dictionary(grouping: records, by: { $0.deviceID.lowercased() })
        devices = byDevice.count
        attempts = records.count
        passed = byDevice.values.filter { $0.last?.passed == true }.count
        failed = devices - passed
        let firstPass = byDevice.values.filter { $0.first?.passed == true }.count
        firstPassYield = devices == 0 ? 0 : Double(firstPass) / Double(devices)
        yield = devices == 0 ? 0 : Double(passed) / Double(devices)
        var codes: [String: Int] = [:]
        for record in records where !record.passed { codes[record.failureCode ?? "UNKNOWN", default: 0] += 1 }
        failuresByCode = codes
        let totalFailures = codes.values.reduce(0, +)
        var running = 0
        pareto = codes.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { code, count in
            running += count
            return ParetoEntry(code: code, count: count, cumulative: totalFailures == 0 ? 0 : Double(running) / Double(totalFailures))
        }
        first = records.map(\.startedAt).min()
        last = records.map(\.finishedAt).max()
        let span = max(60, (last ?? .distantPast).timeIntervalSince(first ?? .distantPast))
        throughputPerHour = records.isEmpty ? 0 : Double(passed) / (span / 3600)
        var buckets: [Date: (Int, Int)] = [:]
        for record in records {
            let hour = Date(timeIntervalSince1970: (record.finishedAt.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
            var bucket = buckets[hour] ?? (0, 0)
            if record.passed { bucket.0 += 1 } else { bucket.1 += 1 }
            buckets[hour] = bucket
        }
        hours = buckets.sorted { $0.key < $1.key }.map { HourBucket(hourStart: $0.key, passed: $0.value.0, failed: $0.value.1) }
        stations = Array(Set(records.map(\.stationID))).sorted()
    }

    /// Every attempt of one device, in order.
    public func trace(_ deviceID: String) -> [ProvisioningRecord] {
        records.filter { $0.deviceID.lowercased() == deviceID.lowercased() }
    }
}
