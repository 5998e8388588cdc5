import Foundation
import StationReports
import StationStore
import TestSupport
import Testing

/// The HTML report in a real browser (Debian's chromium, headless): it renders something
/// (not a blank page) and the page loads nothing from anywhere (Chromium's own network log).
/// A page that does load an outside image is the control that proves the check can fail.
@Suite(.serialized) struct ReportRenderTests {
    static var chromium: String? { Chromium.path }

    struct Render {
        let screenshotBytes: Int
        /// URLs the page itself asked for (not the browser's own background traffic).
        let pageRequests: [String]
    }

    func render(_ html: String, name: String) async throws -> Render {
        guard let chromium = Self.chromium else {
            throw RenderFailure("chromium is not installed: `apt-get install chromium` (bash .ci/run installs it)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("render-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let page = folder.appendingPathComponent("\(name).html"), shot = folder.appendingPathComponent("\(name).png")
        let netLog = folder.appendingPathComponent("\(name).netlog.json")
        try Data(html.utf8).write(to: page)
        let process = AsyncProcess(URL(fileURLWithPath: chromium), ["--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9", "--log-net-log=\(netLog.path)",
                             "--user-data-dir=\(folder.appendingPathComponent("profile").path)", "--window-size=1280,1400",
                             "--screenshot=\(shot.path)", page.absoluteString])
        try process.run()
        let status = await process.exit()
        guard let png = FileManager.default.contents(atPath: shot.path), png.starts(with: [0x89, 0x50, 0x4E, 0x47]) else {
            throw RenderFailure("chromium wrote no screenshot (exit \(status))")
        }
        let requests = try Chromium.pageRequests(netLog: netLog, site: "file://").filter { !$0.hasPrefix("file:") && !$0.hasPrefix("data:") }
        return Render(screenshotBytes: png.count, pageRequests: requests)
    }

    @Test func theReportRendersAndLoadsNothingFromOutside() async throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var records: [ProvisioningRecord] = []
        for index in 0..<12 {
            let failed = index % 4 == 0
            let code: String? = failed ? (index % 8 == 0 ? "DFU-WRITE-STALL" : "PAIR-MISMATCH") : nil
            let begin = start.addingTimeInterval(Double(index) * 400)
            records.append(ProvisioningRecord(
                deviceID: String(format: "e00fce68ae40e8a1f5b4%04x", index), attempt: 1, stationID: "bench-1", operatorName: "ana",
                startedAt: begin, finishedAt: begin.addingTimeInterval(45), passed: !failed, failureCode: code,
                failureMessage: failed ? "demo failure" : nil, platform: "boron", serialNumber: "P0AAAAAAAAAA\(index)", deviceOSVersion: "5.9.0",
                deviceOSAfter: failed ? nil : "6.2.0",
                steps: [.init(step: "identifying", at: 0), .init(step: "waitingForScan", at: 4), .init(step: "flashing", at: 9), .init(step: "finishing", at: 40),
                        .init(step: failed ? "failed" : "passed", at: 45)]))
        }
        let html = LineReport(records: records).html()
        // What the QA lead looks for is on the page: the breakdowns and a timeline per attempt.
        #expect(html.contains("By station") && html.contains("By operator") && html.contains("By platform") && html.contains("By Device OS"))
        #expect(html.components(separatedBy: "<svg class=\"timeline\"").count - 1 == records.count)
        let report = try await render(html, name: "report")
        let blank = try await render("<!DOCTYPE html><html><body></body></html>", name: "blank")
        #expect(report.pageRequests.isEmpty, "\(report.pageRequests)")
        #expect(report.screenshotBytes > 3 * blank.screenshotBytes, "report \(report.screenshotBytes) bytes, blank page \(blank.screenshotBytes)")
        // The control: a page that loads an outside image is caught.
        let outside = try await render("<!DOCTYPE html><html><body><h1>x</h1><img src=\"http://example.com/logo.png\"></body></html>", name: "outside")
        #expect(outside.pageRequests.contains("http://example.com/logo.png"))
    }
}

struct RenderFailure: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}
