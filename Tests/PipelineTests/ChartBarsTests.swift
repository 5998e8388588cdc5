import Foundation
@testable import StationReports
import StationStore
import Testing

/// The charts' bars (the dashboard's yield, the report's throughput): 15-minute buckets
/// merged into the shortest interval that keeps a range's chart at 120 bars or fewer, every
/// attempt still counted once.
struct ChartBarsTests {
    static func buckets(every step: Double, count: Int, from start: Double = 1_800_000_000, passed: (Int) -> Int = { $0 % 4 }, failed: (Int) -> Int = { $0 % 3 == 0 ? 1 : 0 }) -> [LineReport.Bucket] {
        (0..<count).map { LineReport.Bucket(start: Date(timeIntervalSince1970: start + Double($0) * step), passed: passed($0), failed: failed($0)) }
    }

    static func totals(_ buckets: [LineReport.Bucket]) -> (Int, Int) {
        (buckets.map(\.passed).reduce(0, +), buckets.map(\.failed).reduce(0, +))
    }

    @Test(arguments: [
        // (15-minute buckets, the interval the chart uses, its bars)
        (1, 900, 1), (48, 900, 48), (96, 900, 96), (120, 900, 120), (121, 1800, 61), (672, 7200, 84), (2880, 21_600, 120), (2881, 43_200, 61),
    ])
    func aRangeIsChartedInTheShortestIntervalThatFits(count: Int, seconds: Int, bars: Int) {
        // Starts on a day's boundary (in UTC), so the merged intervals line up with it.
        let input = Self.buckets(every: 900, count: count, from: 1_799_971_200)
        let chart = LineReport.chartBars(input)
        #expect(chart.seconds == seconds)
        #expect(chart.bars.count == bars)
        #expect(Self.totals(chart.bars) == Self.totals(input), "every attempt counted once")
    }

    @Test func aMonthWithGapsKeepsItsGapsAndItsCounts() {
        // A month where the line ran two hours a day: the report's buckets skip the rest.
        let days = (0..<30).flatMap { day in Self.buckets(every: 900, count: 8, from: 1_799_971_200 + Double(day) * 86_400 + 8 * 3600) }
        let chart = LineReport.chartBars(days)
        #expect(chart.seconds == 21_600 && chart.bars.count <= 120)
        #expect(Self.totals(chart.bars) == Self.totals(days))
        let starts = chart.bars.map(\.start.timeIntervalSince1970)
        #expect(zip(starts, starts.dropFirst()).allSatisfy { $1 - $0 == 21_600 }, "one bar per interval, the empty ones kept as gaps")
        #expect(chart.bars.contains { $0.passed + $0.failed == 0 })
        #expect(starts.allSatisfy { $0.truncatingRemainder(dividingBy: 21_600) == 0 })
    }

    @Test func randomRangesAreChartedInAtMost120BarsWithEveryAttempt() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let count = Int.random(in: 1...4000, using: &generator)
            let input = (0..<count).map { _ in Int.random(in: 0..<(100 * 96), using: &generator) }.reduce(into: Set<Int>()) { $0.insert($1) }.sorted().map {
                LineReport.Bucket(start: Date(timeIntervalSince1970: 1_800_000_000 + Double($0) * 900), passed: Int.random(in: 0...9, using: &generator), failed: Int.random(in: 0...3, using: &generator))
            }
            let chart = LineReport.chartBars(input)
            #expect(chart.bars.count <= 120, "\(input.count) buckets over \(input.count) intervals: \(chart.bars.count) bars of \(chart.seconds) s")
            #expect(Self.totals(chart.bars) == Self.totals(input))
        }
    }

    /// A week of records, one every 20 minutes: both charts draw hours-long bars, not 500
    /// slivers, and say so in their headings.
    @Test func aWeekOfRecordsChartsInIntervalsOfHoursOnBothPages() throws {
        let records = (0..<504).map { index in
            let finished = Date(timeIntervalSince1970: 1_800_000_000 + Double(index) * 1200)
            return ProvisioningRecord(deviceID: String(format: "e00fce68%016x", index), attempt: 1, stationID: "bench-a", startedAt: finished.addingTimeInterval(-40),
                                      finishedAt: finished, passed: index % 5 != 0, failureCode: index % 5 == 0 ? "DFU-WRITE-STALL" : nil)
        }
        // The SVG whose label is `label` in `html`, to its end.
        func chart(_ html: String, _ label: String) -> String? {
            guard let start = html.range(of: "aria-label=\"\(label)\">") else { return nil }
            let rest = html[start.upperBound...]
            return rest.range(of: "</svg>").map { String(rest[..<$0.lowerBound]) }
        }
        let html = LineReport(records: records).html()
        let throughput = try #require(chart(html, "Throughput per 2 hours"), "the report's chart")
        #expect(throughput.components(separatedBy: "<rect").count - 1 == 2 * 84, "a bar (passed and failed) per 2 hours")
        let now = Date(timeIntervalSince1970: 1_800_700_000)
        let overview = DashboardOverview(records: records, range: DashboardRange("30d", now: now), now: now, explain: { _ in nil })
        let page = DashboardPage.line(overview, timeZone: TimeZone(identifier: "UTC")!)
        let yield = try #require(chart(page, "Yield per 2 hours"), "the dashboard's chart")
        #expect(yield.components(separatedBy: "<rect").count - 1 == 84, "a bar per 2 hours")
    }

    @Test func noBucketsNoBars() {
        #expect(LineReport.chartBars([]).bars.isEmpty)
    }
}
