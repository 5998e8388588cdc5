import Foundation
import Station
import TestSupport
import Testing

/// The station as the floor meets it: a real terminal (tmux, 80x24) for the demo's final
/// screen and the sign-in prompt, the refusals to run blind, and one banner for
/// credentials that cannot be used.
@Suite(.serialized) struct FloorTests {
    /// A station folder: a Boron line's config (operators ana and ben), its manifest made by
    /// `station lab firmware`, a credentials file, a USB device directory and a udevd
    /// control file standing in for the real ones.
    struct Bench {
        let folder: URL
        var config: String { folder.appendingPathComponent("station.toml").path }
        var environment: [String: String] {
            ["STATION_USB_DIR": folder.appendingPathComponent("usb").path, "STATION_UDEV_CONTROL": folder.appendingPathComponent("udev-control").path,
             "STATION_UDEV_RULES_DIRS": folder.appendingPathComponent("rules.d").path]
        }

        init(scanner: String = "", credentialsMode: Int = 0o600) async throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("floor-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("usb"), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("udev-control").path, contents: Data())
            // The station's own rules, as installed (so the tests do not depend on this machine's).
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("rules.d"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: SharedFixtures.packageRoot.appendingPathComponent("udev-rules/50-particle-station.rules"),
                                             to: folder.appendingPathComponent("rules.d/50-particle-station.rules"))
            let made = try await FloorTests.station(["lab", "firmware", "--platform", "boron", "--device-os", "6.2.0", "--product", "4242", "--out", folder.appendingPathComponent("fw").path])
            try #require(made.status == 0, "\(made.stdout)\(made.stderr)")
            let credentials = folder.appendingPathComponent("credentials.toml").path
            try Data("product_token = \"0123456789abcdef0123456789abcdef01234567\"\n".utf8).write(to: URL(fileURLWithPath: credentials))
            chmod(credentials, mode_t(credentialsMode))
            try Data("""
                [station]
                id = "floor-test"

                [product]
                id = 4242
                platform = "boron"

                [cloud]
                api_base_url = "http://127.0.0.1:9"
                credentials_file = "credentials.toml"

                [store]
                path = "\(folder.appendingPathComponent("store.sqlite").path)"

                [bench]
                manifest = "fw/manifest.toml"
                operators = ["ana", "ben"]
                \(scanner)
                """.utf8).write(to: URL(fileURLWithPath: config))
        }
    }

    static func station(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) async throws -> StationBinaryTests.Run {
        try await StationBinaryTests.run(arguments, environment: environment, input: input)
    }

    // MARK: A real terminal

    struct NoTmux: Error, CustomStringConvertible {
        var description: String { "tmux is not installed: the terminal tests need it (apt-get install tmux; .ci/run installs it)" }
    }

    /// Runs a tmux client. `capture`: read what it prints. Never for `new-session`: the
    /// server it may start keeps the client's output open, so reading to its end would wait
    /// forever.
    @discardableResult
    static func tmux(_ arguments: [String], capture: Bool = true) async throws -> String {
        guard let path = ["/usr/bin/tmux", "/bin/tmux", "/usr/local/bin/tmux"].first(where: FileManager.default.isExecutableFile(atPath:)) else { throw NoTmux() }
        return try await offThePool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            process.standardInput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let out = Pipe()
            process.standardOutput = capture ? out : FileHandle.nullDevice
            try process.run()
            let data = capture ? out.fileHandleForReading.readDataToEndOfFile() : Data()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// A command in a detached 80x24 tmux session of its own; returns the session's name.
    /// Started through Python's subprocess (which closes every other descriptor in the
    /// child): a tmux server started by this client would inherit the descriptors Foundation
    /// watches to see the client end, and `waitUntilExit` would never return.
    static func terminal(_ command: String) async throws -> String {
        guard let tmux = ["/usr/bin/tmux", "/bin/tmux", "/usr/local/bin/tmux"].first(where: FileManager.default.isExecutableFile(atPath:)) else { throw NoTmux() }
        let name = "station-test-\(UUID().uuidString.prefix(8))"
        let status = try await offThePool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))",
                                 tmux, "new-session", "-d", "-s", name, "-x", "80", "-y", "24", command]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        try #require(status == 0, "tmux new-session failed")
        return name
    }

    /// Ends a tmux session without waiting for the client (for a `defer`).
    static func killSession(_ session: String) {
        guard let path = ["/usr/bin/tmux", "/bin/tmux", "/usr/local/bin/tmux"].first(where: FileManager.default.isExecutableFile(atPath:)) else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["kill-session", "-t", session]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
    }

    static func screen(_ session: String) async throws -> String { try await tmux(["capture-pane", "-p", "-t", session]) }

    /// Polls the screen until `done` holds (or the time is up), then returns it.
    static func waitForScreen(_ session: String, seconds: Int, until done: (String) -> Bool) async throws -> String {
        var text = ""
        for _ in 0..<(seconds * 5) {
            text = try await screen(session)
            if done(text) { return text }
            try await Task.sleep(for: .milliseconds(200))
        }
        return text
    }

    static func shellQuoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    @Test func theDemosFinalScreenListsEverySlotWithItsWholeResult() async throws {
        let station = try StationBinaryTests.stationPath().path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("demo-tmux-\(UUID().uuidString)").path
        // printf without a newline: like a shell prompt, it takes the last line without scrolling.
        let session = try await Self.terminal("\(Self.shellQuoted(station)) demo --out \(Self.shellQuoted(out)); printf 'EXIT=%s' $?; sleep 120")
        defer { Self.killSession(session) }
        let text = try await Self.waitForScreen(session, seconds: 240) { $0.contains("EXIT=") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }  // capture-pane ends with a newline
        #expect(text.contains("EXIT=0"), "\(text)")
        #expect(lines.count <= 24 && lines.allSatisfy { $0.count <= 80 })
        #expect(lines.first?.hasPrefix("station demo: Demo line, operator demo") == true, "the title is still on screen: \(text)")
        for slot in 1...6 {
            let row = lines.first { $0.hasPrefix("1-\(slot) ") }
            #expect(row.map { $0.contains(" PASS ") || $0.contains(" FAIL ") } == true, "slot 1-\(slot) shows its result: \(text)")
        }
        #expect(lines.filter { $0.contains(" PASS  unplug it") }.count == 4)
        #expect(text.contains("FAIL  DFU-WRITE-STALL: replug and retry") && text.contains("FAIL  PAIR-MISMATCH: find the right sticker"), "\(text)")
        #expect(!text.contains("…"), "nothing cut")
        #expect(text.contains(BenchInput.commandLine), "the keys are shown")
        #expect(text.contains("demo: PASS"))
        // No word broken across lines: every line ends at a word's end.
        let words = Set(text.split(whereSeparator: \.isWhitespace).map(String.init))
        for code in ["DFU-WRITE-STALL", "PAIR-MISMATCH"] { #expect(words.contains(code) || words.contains(code + ":") || words.contains(code + ","), "\(code) whole") }
    }

    @Test func theSignInPromptIsOnScreenBeforeAnyKeyAndAWrongNameAsksAgain() async throws {
        let bench = try await Bench()
        let station = try StationBinaryTests.stationPath().path
        let env = bench.environment.map { "\($0.key)=\(Self.shellQuoted($0.value))" }.joined(separator: " ")
        let session = try await Self.terminal("env \(env) \(Self.shellQuoted(station)) run --config \(Self.shellQuoted(bench.config)) --plain --no-sync; printf 'EXIT=%s' $?; sleep 60")
        defer { Self.killSession(session) }
        let before = try await Self.waitForScreen(session, seconds: 60) { $0.contains("operator sign-in:") }
        #expect(before.contains("operator sign-in: type your name, then Enter:"), "visible before the first keystroke: \(before)")
        try await Self.tmux(["send-keys", "-t", session, "zed", "Enter"], capture: false)
        let again = try await Self.waitForScreen(session, seconds: 30) { $0.components(separatedBy: "operator sign-in:").count >= 3 }
        #expect(again.contains("'zed' may not sign in at this station (operators: ana, ben); try again (2 more)."), "\(again)")
        #expect(again.components(separatedBy: "operator sign-in:").count == 3, "asked again: \(again)")
        #expect(!again.contains("EXIT="), "still running")
        try await Self.tmux(["send-keys", "-t", session, "ana", "Enter"], capture: false)
        let signedIn = try await Self.waitForScreen(session, seconds: 30) { $0.contains("bench ready") || $0.contains("EXIT=") }
        #expect(signedIn.contains("bench ready"), "\(signedIn)")
    }

    // MARK: Sign-in without a terminal

    @Test func closedStandardInputIsOneClearError() async throws {
        let bench = try await Bench()
        let run = try await Self.station(["run", "--config", bench.config, "--plain"], environment: bench.environment)
        #expect(run.status == 64)
        #expect(run.stderr.contains("sign-in needs the operator's name, but standard input is closed") && run.stderr.contains("--operator NAME"), "\(run.stderr)")
        #expect(!run.stdout.contains("FAIL"), "\(run.stdout)")
    }

    @Test func threeWrongNamesEndTheRunAndAWrongOperatorOptionIsAUsageError() async throws {
        let bench = try await Bench()
        let run = try await Self.station(["run", "--config", bench.config, "--plain"], environment: bench.environment, input: "zed\nyan\nxi\n")
        #expect(run.status == 1)
        #expect(run.stdout.components(separatedBy: "operator sign-in:").count == 4, "\(run.stdout)")
        #expect(run.stdout.contains("'yan' may not sign in at this station (operators: ana, ben); try again (1 more)."))
        #expect(run.stderr.contains("three names were refused"))
        let option = try await Self.station(["run", "--config", bench.config, "--operator", "zed"], environment: bench.environment)
        #expect(option.status == 64 && option.stderr.contains("--operator 'zed' may not sign in"))
    }

    // MARK: Refusing to run blind

    @Test func noUSBDeviceDirectoryRefusesRunAndWatch() async throws {
        let bench = try await Bench()
        var environment = bench.environment
        environment["STATION_USB_DIR"] = bench.folder.appendingPathComponent("no-such-dir").path
        for arguments in [["run", "--config", bench.config, "--operator", "ana"], ["watch", "--for", "1"]] {
            let run = try await Self.station(arguments, environment: environment)
            #expect(run.status == 69, "\(arguments[0]): \(run.stdout)\(run.stderr)")
            #expect(run.stderr.contains("station \(arguments[0]) does not start: the USB device directory \(environment["STATION_USB_DIR"]!) does not exist"))
            #expect(run.stderr.contains("Fix: "))
            #expect(!run.stdout.contains("bench ready") && !run.stdout.contains("watching"))
        }
    }

    @Test func withoutUdevdRootHearsTheKernelAndAUserIsRefused() async throws {
        let bench = try await Bench()
        var environment = bench.environment
        environment["STATION_UDEV_CONTROL"] = bench.folder.appendingPathComponent("no-control").path
        if geteuid() == 0 {
            // The kernel's uevents stand in for udevd's: the watch starts, says so once, ends.
            let run = try await Self.station(["watch", "--for", "1", "--json"], environment: environment)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("\"watching\""))
            let notes = run.stderr.split(separator: "\n").filter { $0.contains("arrivals are heard from the kernel's uevents over netlink") }
            #expect(notes.count == 1, "\(run.stderr)")
        } else {
            let run = try await Self.station(["run", "--config", bench.config, "--operator", "ana"], environment: environment)
            #expect(run.status == 69)
            #expect(run.stderr.contains("the udev daemon is not running") && run.stderr.contains("run the station as root"), "\(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1, "one message")
        }
    }

    @Test func aMissingScannerRefusesToStart() async throws {
        let bench = try await Bench(scanner: "\n[scanner]\nkind = \"serial\"\npath = \"/dev/no-such-scanner\"\n")
        let run = try await Self.station(["run", "--config", bench.config, "--operator", "ana"], environment: bench.environment)
        #expect(run.status == 69)
        #expect(run.stderr.contains("station run does not start: the configured scanner is missing") && run.stderr.contains("/dev/no-such-scanner"), "\(run.stderr)")
    }

    /// A token the cloud refuses (401 on every request, from a loopback server) pauses the
    /// imports with one banner, however long the bench runs; the queued device waits.
    @Test func aRefusedTokenIsOneBannerNotAFailureEveryPass() async throws {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-c", """
            import http.server
            class H(http.server.BaseHTTPRequestHandler):
                def answer(self):
                    body = b'{"error":"invalid_token","error_description":"The access token provided is invalid."}'
                    self.send_response(401); self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(body)))
                    self.end_headers(); self.wfile.write(body)
                do_GET = do_POST = do_PUT = do_DELETE = answer
                def log_message(self, *args): pass
            s = http.server.HTTPServer(("127.0.0.1", 0), H)
            print(s.server_port, flush=True)
            s.serve_forever()
            """]
        let portPipe = Pipe()
        server.standardOutput = portPipe
        // Not the test runner's stderr: a child holding it open keeps `swift test` waiting.
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL: the server inherits the test runner's signal dispositions, and SIGTERM
        // did not end it.
        defer { kill(server.processIdentifier, SIGKILL) }
        var portText = ""
        while !portText.contains("\n") {
            let data = portPipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            portText += String(decoding: data, as: UTF8.self)
        }
        let port = try #require(Int(portText.trimmingCharacters(in: .whitespacesAndNewlines)), "the loopback server started: \(portText)")
        let bench = try await Bench()
        let text = try String(contentsOfFile: bench.config, encoding: .utf8).replacingOccurrences(of: "http://127.0.0.1:9", with: "http://127.0.0.1:\(port)")
        try Data(text.utf8).write(to: URL(fileURLWithPath: bench.config))
        let added = try await Self.station(["queue", "add", "--config", bench.config, "e00fce68ae40e8a1f5b40001"])
        try #require(added.status == 0, "\(added.stdout)\(added.stderr)")

        let process = Process()
        process.executableURL = try StationBinaryTests.stationPath()
        process.arguments = ["run", "--config", bench.config, "--operator", "ana", "--plain"]
        process.environment = ProcessInfo.processInfo.environment.merging(bench.environment) { $1 }
        let out = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = stdin
        let done = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { done.continuation.yield($0.terminationStatus); done.continuation.finish() }
        try process.run()
        // Several background passes (one every 3 s) while the bench runs, then quit.
        try await Task.sleep(for: .seconds(10))
        stdin.fileHandleForWriting.write(Data("q\n".utf8))
        var status: Int32 = -1
        for await code in done.stream { status = code }
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(status == 0, "\(output)")
        let banners = output.split(separator: "\n").filter { $0.contains("imports paused") }
        #expect(banners.count == 1, "one banner: \(output)")
        #expect(banners.first?.contains("CLOUD-TOKEN-INVALID") == true, "\(output)")
        #expect(!output.contains("FAIL"), "\(output)")
        let status2 = try await Self.station(["queue", "status", "--config", bench.config])
        #expect(status2.stdout.contains("pending: 1 "), "the device waits in the queue: \(status2.stdout)")
    }

    @Test func unusableCredentialsAreOneBannerAndTheBenchStillRuns() async throws {
        let bench = try await Bench(credentialsMode: 0o644)
        let run = try await Self.station(["run", "--config", bench.config, "--operator", "ana", "--plain"], environment: bench.environment, input: "q\n")
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("bench ready"))
        let banners = run.stdout.split(separator: "\n").filter { $0.contains("imports paused") }
        #expect(banners.count == 1, "one banner: \(run.stdout)")
        #expect(banners.first?.contains("chmod 600") == true && banners.first?.contains("their imports wait in the queue") == true)
        #expect(!run.stdout.contains("FAIL") && run.stderr.isEmpty, "\(run.stdout)\(run.stderr)")
    }
}
