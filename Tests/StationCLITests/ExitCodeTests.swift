import Foundation
import StationCLI
import TestSupport
import Testing

/// The README documents the exit codes once; this keeps it in step with the code.
@Suite struct ExitCodeTests {
    @Test func readmeTableListsEveryCode() throws {
        let readme = try String(contentsOf: SharedFixtures.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let rows = readme.split(separator: "\n").filter { $0.hasPrefix("| ") }
        for code in StationExitCode.allCases {
            #expect(rows.contains { $0.hasPrefix("| \(code.rawValue) |") && $0.contains(code.meaning) }, "README row for exit code \(code.rawValue): | \(code.rawValue) | \(code.meaning) |")
        }
    }
}
