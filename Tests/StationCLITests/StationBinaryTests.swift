import Foundation
import TestSupport
import Testing

/// Runs the built `station` executable, as a technician or script would.
@Suite struct StationBinaryTests {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func stationPath() throws -> URL {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("station")
        let inBuild = SharedFixtures.packageRoot.appendingPathComponent(".build/debug/station")
        for candidate in [besideTests, inBuild] where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate
        }
        struct NotBuilt: Error, CustomStringConvertible {
            var description: String { "the station executable is not built; run ./test (it builds everything before testing)" }
        }
        throw NotBuilt()
    }

    /// Runs `station` to its end: `environment` added to this one's, standard input closed
    /// (or fed `input`).
    static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], input: String? = nil) async throws -> Run {
        try await runProgram(try stationPath().path, arguments, in: directory, environment: environment, input: input)
    }

    /// Runs any program to its end, as `run` runs `station`.
    static func runProgram(_ executable: String, _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:],
                           input: String? = nil) async throws -> Run {
        let path = URL(fileURLWithPath: executable)
        return try await offThePool {
            let process = Process()
            process.executableURL = path
            process.arguments = arguments
            if let directory { process.currentDirectoryURL = directory }
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            let out = Pipe(), err = Pipe(), stdin = Pipe()
            process.standardOutput = out
            process.standardError = err
            process.standardInput = input == nil ? FileHandle.nullDevice : stdin
            try process.run()
            if let input {
                stdin.fileHandleForWriting.write(Data(input.utf8))
                try stdin.fileHandleForWriting.close()
            }
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
        }
    }

    @Test func inspectJSONAgreesWithExpectedOnEveryFile() async throws {
        let directory = try SharedFixtures.modulesDirectory()
        let entries = try SharedFixtures.expectedEntries().filter { ($0["kind"] as? String) != "bundle" }
        let files = entries.compactMap { $0["file"] as? String }
        let run = try await Self.run(["inspect", "--json"] + files, in: directory)
        #expect(run.status == 1, "two files are refused, so the exit status is 1")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        try #require(array.count == 71)
        for (entry, ours) in zip(entries, array) {
            let file = entry["file"] as? String ?? "?"
            if let refused = entry["parseError"] as? String {
                #expect((ours["parseError"] as? String)?.lowercased().contains(refused.lowercased()) == true, "\(file)")
                #expect(ours["file"] as? String == file)
                continue
            }
            let problems = ExpectedComparison.mismatches(ours: ours, expected: entry)
            #expect(problems.isEmpty, "\(file):\n\(problems.joined(separator: "\n"))")
        }
    }

    @Test func inspectTextNamesWhatIsWrong() async throws {
        let directory = try SharedFixtures.modulesDirectory()
        let run = try await Self.run(["inspect", "derived/tinker-0.8.0-rc.27-boron.corrupt-crc.bin", "boron-system-part1@4.1.0.bin"], in: directory)
        #expect(run.status == 0)
        #expect(run.stdout.contains("CRC is BAD"))
        #expect(run.stdout.contains("systemPart module, index 1, version 4100 (Device OS 4.1.0)"))
    }

    @Test func usageErrorsExit64() async throws {
        let run = try await Self.run(["inspect"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("Missing expected argument"))
    }

    @Test func unreadableFileIsReportedAndTheRestProcessed() async throws {
        let directory = try SharedFixtures.modulesDirectory()
        let run = try await Self.run(["inspect", "--json", "no-such-file.bin", "cat.bin"], in: directory)
        #expect(run.status == 74, "a file that cannot be read: 74, as in every command")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 2)
        #expect(array[0]["parseError"] != nil && array[1]["moduleFunction"] as? Int == 9)
    }

    @Test func demoPasses() async throws {
        let run = try await Self.run(["demo"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("demo: PASS"))
    }

    @Test func doctorJSONIsAReport() async throws {
        let run = try await Self.run(["doctor", "--json"])
        #expect(run.status == 0 || run.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let checks = try #require(object["checks"] as? [[String: Any]])
        let ids = Set(checks.compactMap { $0["id"] as? String })
        #expect(ids.isSuperset(of: ["libusb", "libusb.hotplug", "udev", "curl", "curl.tls", "usb.permissions"]))
        #expect((object["blocksProvisioning"] as? Bool) == (run.status == 1))
    }

    @Test func flashIntoAnEmulatedDevice() async throws {
        let directory = try SharedFixtures.modulesDirectory()
        let run = try await Self.run([
            "flash", "--emulate", "boron", "--preload", "boron-bootloader@4.1.0.bin",
            "boron-softdevice@4.1.0.bin", "boron-system-part1@4.1.0.bin", "tinker-0.8.0-rc.27-boron.bin",
        ], in: directory)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("its 24-byte prefix is not written (DROP_MODULE_INFO)"))
        #expect(run.stdout.contains("read back and verified"))
        #expect(run.stdout.contains("  bootable"))
    }

    @Test func flashRefusalIsADataError() async throws {
        let directory = try SharedFixtures.modulesDirectory()
        let run = try await Self.run(["flash", "--emulate", "boron", "bsom-system-part1@4.1.0.bin"], in: directory)
        #expect(run.status == 65)
        #expect(run.stderr.contains("REFUSED [PLAN-WRONG-PLATFORM]") && !run.stdout.contains("REFUSED"), "\(run.stderr)")
    }

    /// `station benchmark flash`, and its old spelling `station bench flash` (hidden, kept for scripts).
    @Test(arguments: [["benchmark", "flash"], ["bench", "flash"]]) func benchmarkFlashJSONShape(command: [String]) async throws {
        let run = try await Self.run(command + ["--json", "--scale", "0.02", "--platform", "electron"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        let keys = Set(try #require(array.first).keys)
        #expect(keys.isSuperset(of: ["platform", "fullSeconds", "floorSeconds", "fullRatio", "reflashSeconds", "reflashRatio", "pagesErased", "bytesProgrammed", "bytesTransferred", "controlTransfers"]))
    }

    /// Help lists the benchmarks under `benchmark` and not the old `bench` (which still parses:
    /// a usage error inside it is its own, with the hidden command's name).
    @Test func helpNamesTheBenchmarksApartFromTheBench() async throws {
        func commands(_ help: String) -> Set<String> {
            Set(help.split(separator: "\n").compactMap { line in line.hasPrefix("  ") && !line.hasPrefix("   ") ? line.split(separator: " ").first.map(String.init) : nil })
        }
        let help = try await Self.run(["--help"])
        #expect(help.status == 0 && help.stderr.isEmpty, "\(help.stderr)")
        #expect(try await Self.run(["help"]).stdout == help.stdout)
        #expect(commands(help.stdout).contains("benchmark") && !commands(help.stdout).contains("bench"), "\(help.stdout)")
        let sub = try await Self.run(["benchmark", "--help"])
        #expect(commands(sub.stdout).isSuperset(of: ["flash", "pipeline", "queue"]) && !commands(sub.stdout).contains("line"), "\(sub.stdout)")
        let old = try await Self.run(["bench", "line", "--devices", "0"])
        #expect(old.status == 64 && old.stderr.contains("--devices"), "\(old.stderr)")
    }
}
