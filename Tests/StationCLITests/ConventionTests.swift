import Foundation
import StationCLI
import TestSupport
import Testing

/// The habits a particle-cli or dfu-util user brings: `--version`, errors on standard error,
/// JSON for every outcome under `--json`, one exit-code table, read-only commands that create
/// nothing, a command's own usage, every manifest problem at once, owner-only files.
@Suite struct ConventionTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("conventions-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// A station config whose store is `store` (not created), with owner-only credentials.
    func config(store: String, extra: String = "") throws -> String {
        try "product_token = \"0123456789abcdef0123456789abcdef01234567\"\n".write(toFile: path("credentials.toml"), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path("credentials.toml"))
        try """
            [station]
            id = "bench-conventions"
            [product]
            id = 4242
            platform = "boron"
            [cloud]
            credentials_file = "credentials.toml"
            [store]
            path = "\(store)"
            \(extra)
            """.write(toFile: path("station.toml"), atomically: true, encoding: .utf8)
        return path("station.toml")
    }

    @Test func versionIsPrintedAndInTheDoctor() async throws {
        let run = try await StationBinaryTests.run(["--version"])
        #expect(run.status == 0 && run.stdout == StationVersion.current + "\n", "\(run.stdout)\(run.stderr)")
        let doctor = try await StationBinaryTests.run(["doctor", "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [String: Any])
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.first?["id"] as? String == "station" && checks.first?["summary"] as? String == "station \(StationVersion.current)")
    }

    /// Each command given a file that is not there: 74, the message on standard error (named
    /// with its code), nothing on standard output, no doubled period.
    @Test(arguments: [
        ["manifest", "verify", "/no/such/manifest.toml"],
        ["manifest", "create", "/no/such/folder"],
        ["report", "--store", "/no/such/station.sqlite", "--format", "csv"],
        ["report", "--config", "/no/such/station.toml", "--format", "html"],
        ["queue", "status", "--store", "/no/such/station.sqlite"],
        ["queue", "export", "--store", "/no/such/station.sqlite"],
        ["queue", "retry", "--store", "/no/such/station.sqlite"],
        ["queue", "status", "--config", "/no/such/station.toml"],
        ["queue", "sync", "--config", "/no/such/station.toml"],
        ["queue", "add", "--store", "/no/such/station.sqlite", "--file", "/no/such/tray.txt"],
        ["inspect", "/no/such/module.bin"],
        ["flash", "--emulate", "boron", "/no/such/module.bin"],
    ])
    func aMissingFileIs74OnStandardError(_ arguments: [String]) async throws {
        let run = try await StationBinaryTests.run(arguments)
        #expect(run.status == 74, "\(arguments): \(run.status) \(run.stdout)\(run.stderr)")
        #expect(["FILE-MISSING", "STORE-MISSING", "MODULE-UNREADABLE"].contains { run.stderr.contains("[\($0)]") }, "\(arguments): \(run.stderr)")
        #expect(run.stdout.isEmpty, "\(arguments): \(run.stdout)")
        #expect(!run.stderr.contains(".."), "\(arguments): \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/no/such"))
    }

    @Test func invalidContentIs65() async throws {
        try "[station\nid = 1\n".write(toFile: path("broken.toml"), atomically: true, encoding: .utf8)
        for arguments in [["queue", "status", "--config", path("broken.toml")], ["manifest", "verify", path("broken.toml")],
                          ["report", "--config", path("broken.toml"), "--format", "csv"]] {
            let run = try await StationBinaryTests.run(arguments)
            #expect(run.status == 65, "\(arguments): \(run.status) \(run.stderr)")
            #expect(run.stderr.hasPrefix("FAIL [") && run.stdout.isEmpty && !run.stderr.contains(".."), "\(arguments): \(run.stderr)")
        }
    }

    /// Under `--json` a failure is JSON on standard output, with the same code and exit code.
    @Test func jsonFailuresAreJSON() async throws {
        for (arguments, exit) in [(["report", "--store", path("missing.sqlite"), "--format", "json"], Int32(74)),
                                  (["report", "--config", path("missing.toml")], 74),
                                  (["identify", "--port", "9-9", "--json"], 69)] {
            let run = try await StationBinaryTests.run(arguments)
            #expect(run.status == exit, "\(arguments): \(run.status) \(run.stdout)\(run.stderr)")
            let object = try #require(try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(arguments): \(run.stdout)")
            let error = try #require(object["error"] as? [String: Any])
            #expect((error["code"] as? String)?.isEmpty == false && (error["message"] as? String)?.isEmpty == false)
            #expect(error["exit"] as? Int == Int(exit))
        }
    }

    /// `queue status`, `queue export` and `report` read a store: with a config whose store is
    /// not there, they fail and leave no file or folder behind; given one, they name it.
    @Test func readOnlyCommandsCreateNothingAndNameTheStore() async throws {
        let store = path("state/station.sqlite")
        let config = try config(store: store)
        for arguments in [["queue", "status", "--config", config], ["queue", "export", "--config", config], ["report", "--config", config, "--format", "csv"]] {
            let run = try await StationBinaryTests.run(arguments)
            #expect(run.status == 74 && run.stderr.contains("STORE-MISSING") && run.stderr.contains(store), "\(arguments): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: path("state")), "\(arguments) created the store's folder")
        }
        // A store made by a command that writes (queue add), then read.
        let added = try await StationBinaryTests.run(["queue", "add", "--config", config, "e00fce68ae40e8a1f5b40001"])
        #expect(added.status == 0, "\(added.stderr)")
        let status = try await StationBinaryTests.run(["queue", "status", "--config", config])
        #expect(status.status == 0 && status.stdout.contains("store: \(store)"), "\(status.stdout)")
        let export = try await StationBinaryTests.run(["queue", "export", "--config", config])
        #expect(export.stderr.contains("store: \(store)") && export.stdout.hasPrefix("device_id,"))
    }

    @Test func theStoreAndReportsAreOwnerOnlyOrTheNamedGroups() async throws {
        func mode(_ path: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1 }
        let store = path("private/station.sqlite")
        let config = try config(store: store)
        #expect(try await StationBinaryTests.run(["queue", "add", "--config", config, "e00fce68ae40e8a1f5b40001"]).status == 0)
        #expect(try mode(store) == 0o600)
        #expect(try mode(path("private")) == 0o700)
        let report = try await StationBinaryTests.run(["report", "--config", config, "--format", "html", "--out", path("report.html")])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(try mode(path("report.html")) == 0o600)
        // With [store] group: 0640 and that group (this user's own primary group).
        let group = try #require(String(cString: getgrgid(getgid()).pointee.gr_name, encoding: .utf8))
        let shared = path("shared/station.sqlite")
        let grouped = try self.config(store: shared, extra: "group = \"\(group)\"")
        let added = try await StationBinaryTests.run(["queue", "add", "--config", grouped, "e00fce68ae40e8a1f5b40002"])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(try mode(shared) == 0o640)
        #expect(try mode(path("shared")) & 0o777 == 0o750 && mode(path("shared")) & 0o2000 != 0, "setgid: SQLite's -wal and -shm get the group")
        let out = try await StationBinaryTests.run(["report", "--config", grouped, "--format", "csv", "--out", path("shared.csv")])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try mode(path("shared.csv")) == 0o640)
        // A group that does not exist is refused with the fix.
        let unknown = try self.config(store: path("nogroup/station.sqlite"), extra: "group = \"no-such-group-\(UUID().uuidString.prefix(8))\"")
        let refused = try await StationBinaryTests.run(["queue", "add", "--config", unknown, "e00fce68ae40e8a1f5b40003"])
        #expect(refused.status == 69 && refused.stderr.contains("does not exist on this machine"), "\(refused.status) \(refused.stderr)")
    }

    @Test func aWrongArgumentPrintsTheSubcommandsOwnUsage() async throws {
        let run = try await StationBinaryTests.run(["queue", "sync"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("Usage: station queue sync") && !run.stderr.contains("Usage: station <subcommand>"), "\(run.stderr)")
        let migrate = try await StationBinaryTests.run(["queue", "migrate"])
        #expect(migrate.status == 64 && migrate.stderr.contains("Usage: station queue migrate"), "\(migrate.stderr)")
    }

    /// `manifest verify` takes the folder, and lists every problem with its code.
    @Test func manifestVerifyListsEveryProblem() async throws {
        let release = folder.appendingPathComponent("release")
        let made = try await StationBinaryTests.run(["lab", "firmware", "--platform", "boron", "--device-os", "6.2.0", "--product", "4242", "--out", release.path])
        try #require(made.status == 0, "\(made.stderr)")
        let good = try await StationBinaryTests.run(["manifest", "verify", release.path])
        #expect(good.status == 0 && good.stdout.contains("OK: every file is present"), "\(good.stdout)\(good.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: release.path).filter { $0.hasSuffix(".bin") }.sorted()
        try FileManager.default.removeItem(at: release.appendingPathComponent(files[0]))
        let altered = release.appendingPathComponent(files[1])
        var bytes = try Data(contentsOf: altered)
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: altered)
        let bad = try await StationBinaryTests.run(["manifest", "verify", release.path])
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("FAIL [MANIFEST-FILE-MISSING]: \(files[0])") && bad.stderr.contains("FAIL [MANIFEST-FILE-ALTERED]: \(files[1])"), "\(bad.stderr)")
        #expect(bad.stderr.contains("2 problems in all") && !bad.stderr.contains(".."))
    }

    /// The demo firmware in DFU mode only: the plan knows the bootloader cannot be written
    /// there, so nothing is written and the message says what to do.
    @Test func aDFUOnlyFlashThatCouldNotBootIsRefusedBeforeWriting() async throws {
        let release = folder.appendingPathComponent("release")
        #expect(try await StationBinaryTests.run(["lab", "firmware", "--platform", "boron", "--device-os", "6.2.0", "--product", "4242", "--out", release.path]).status == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: release.path).filter { $0.hasSuffix(".bin") }.sorted()
        let run = try await StationBinaryTests.run(["flash", "--emulate", "boron"] + files, in: release)
        #expect(run.status == 65, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("REFUSED [PLAN-NEEDS-NORMAL-MODE]") && run.stderr.contains("Nothing was written"), "\(run.stderr)")
        #expect(!run.stdout.contains("verification:") && !run.stdout.contains("read back and verified"), "\(run.stdout)")
    }
}
