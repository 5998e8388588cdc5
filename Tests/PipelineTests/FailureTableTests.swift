import Foundation
import Station
import StationReports
import Testing

/// One table of failure codes: every code the code base can produce has its meaning and
/// its next step, and the docs are that table.
@Suite struct FailureTableTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The report's protected codes are the table's route-to-online-rework ones (the report
    /// does not import the table: this keeps the two lists one).
    @Test func theReportsProtectedCodesAreTheTablesReworkOnes() {
        #expect(LineReport.protectedCodes == Set(FailureTable.entries.filter { $0.next == .routeToOnlineRework }.map(\.code)))
    }

    /// Every string literal in Sources that looks like a code (`PAIR-MISMATCH`, `CTRL-USB`).
    static func literalCodes() throws -> [String: String] {
        var found: [String: String] = [:]
        let sources = repository.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        let pattern = /"([A-Z][A-Z0-9]+(?:-[A-Z0-9]+)+)"/
        while let url = files?.nextObject() as? URL {
            guard url.pathExtension == "swift", !url.path.hasSuffix("FailureTable.swift") else { continue }
            for match in try String(contentsOf: url, encoding: .utf8).matches(of: pattern) { found[String(match.1)] = url.lastPathComponent }
        }
        return found
    }

    @Test func everyCodeTheCodeBaseCanProduceIsInTheTable() throws {
        let literals = try Self.literalCodes()
        #expect(literals.count > 60, "the scan found the codes: \(literals.count)")
        // "NO-DEVICE" is text matched inside messages (Provisioner.gone), not a code.
        for (code, file) in literals where code != "NO-DEVICE" {
            #expect(FailureTable.entry(for: code) != nil, "\(code) (\(file)) is not in FailureTable")
        }
        for code in FailureTable.generatedCodes { #expect(FailureTable.entry(for: code) != nil, "\(code) is not in FailureTable") }
        #expect(FailureTable.generatedCodes.contains("DFU-WRITE-STALL") && FailureTable.generatedCodes.contains("CTRL-NOT-SUPPORTED"))
    }

    @Test func eachEntryIsUsable() {
        #expect(Set(FailureTable.entries.map(\.code)).count == FailureTable.entries.count, "no code twice")
        for entry in FailureTable.entries {
            #expect(!entry.meaning.isEmpty && entry.meaning.count <= 120, "\(entry.code)")
            #expect(entry.code.filter { $0 == "*" }.count <= 1)
        }
        for next in NextStep.allCases { #expect(next.short.count <= 22 && !next.instruction.isEmpty) }
        #expect(Set(FailureTable.entries.map(\.next)) == Set(NextStep.allCases), "all five next steps are used")
        #expect(FailureTable.entry(for: "PAIR-MISMATCH")?.next == .findTheRightSticker)
        #expect(FailureTable.entry(for: "DFU-WRITE-STALL")?.next == .replugAndRetry)
        #expect(FailureTable.entry(for: "PLAN-PROTECTED")?.next == .routeToOnlineRework)
        #expect(FailureTable.entry(for: "NOT-A-CODE") == nil)
    }

    @Test func theDocsAreTheTable() throws {
        let docs = try String(contentsOf: Self.repository.appendingPathComponent("stations/failure-codes.md"), encoding: .utf8)
        #expect(docs.contains(FailureTable.markdown), "stations/failure-codes.md is out of date: regenerate its table with `station codes --markdown`")
    }
}
