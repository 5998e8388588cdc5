import Foundation
import StationStore
import TestSupport
import Testing

/// `station line serve` as a QA lead uses it, in a real browser (Debian's chromium, headless)
/// and through plain HTTP (Python's urllib, a client that is not ours): over a `station demo`
/// store, the line page names both failure codes and the yield, the device page shows the
/// stalled device, the search finds a device by serial and by ICCID, the numbers are
/// `station report --format json`'s, nothing loads from elsewhere, a new record reaches an
/// open page's event stream, the viewer token guards an address off loopback, and the store
/// is never written.
@Suite(.serialized) struct DashboardTests {
    /// A running `station line serve`, its address read from its first line.
    final class Served: @unchecked Sendable {
        let process = Process()
        var base = ""
        var errors: URL?
        /// What it wrote to standard error, and whether it still runs.
        var said: String { (errors.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? "") + (process.isRunning ? "" : " (exited \(process.terminationStatus))") }

        init(_ arguments: [String]) async throws {
            process.executableURL = try StationBinaryTests.stationPath()
            process.arguments = ["line", "serve"] + arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            // Its standard error in a file of its own: what a test that fails can show.
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            errors = log
            process.standardError = try FileHandle(forWritingTo: log)
            try process.run()
            let handle = pipe.fileHandleForReading
            let line: String = try await offThePool {
                var bytes: [UInt8] = []
                while true {
                    let data = handle.readData(ofLength: 1)
                    if data.isEmpty || data.first == 0x0A { break }
                    bytes += data
                }
                return String(decoding: bytes, as: UTF8.self)
            }
            guard line.hasPrefix("dashboard: http://"), let address = line.dropFirst("dashboard: ".count).split(separator: " ").first, address.hasSuffix("/") else {
                throw DashboardTestFailure("station line serve said: \(line)")
            }
            base = String(address)
        }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    /// GET through Python's urllib: status, body, and the response's headers.
    static func get(_ url: String, headers: [String: String] = [:], timeout: Int = 30) async throws -> (status: Int, body: String) {
        let script = """
            import json, sys, urllib.request, urllib.error
            request = urllib.request.Request(sys.argv[1], headers=json.loads(sys.argv[2]))
            try:
                response = urllib.request.urlopen(request, timeout=\(timeout))
                print(response.status); sys.stdout.write(response.read().decode())
            except urllib.error.HTTPError as error:
                print(error.code); sys.stdout.write(error.read().decode())
            except Exception as error:
                print(-1); sys.stdout.write("no answer: %r" % error)
            """
        let headerJSON = String(decoding: try JSONSerialization.data(withJSONObject: headers), as: UTF8.self)
        let run = try await StationBinaryTests.runProgram("/usr/bin/python3", ["-c", script, url, headerJSON])
        let lines = run.stdout.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        return (Int(lines.first ?? "") ?? -1, lines.count > 1 ? String(lines[1]) : "")
    }

    struct Page {
        let dom: String
        /// URLs the page asked for (not the browser's own background traffic).
        let requests: [String]
    }

    /// The page as chromium renders it (its DOM after scripts ran), with its requests (those
    /// whose network isolation key is the page's site: scheme and host, without the port).
    static func browse(_ url: String, origin: String) async throws -> Page {
        let site = origin.split(separator: ":").prefix(2).joined(separator: ":")
        guard let chromium = Chromium.path else {
            throw DashboardTestFailure("chromium is not installed: `apt-get install chromium` (bash .ci/run installs it)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let netLog = folder.appendingPathComponent("net.json")
        let run = try await StationBinaryTests.runProgram(chromium, [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-proxy-server", "--log-net-log=\(netLog.path)",
            "--user-data-dir=\(folder.appendingPathComponent("profile").path)", "--window-size=1280,1400", "--dump-dom", url,
        ])
        let requests = try Chromium.pageRequests(netLog: netLog, site: site)
        return Page(dom: run.stdout, requests: requests)
    }

    static func demoStore() async throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dash-demo-\(UUID().uuidString)")
        let demo = try await StationBinaryTests.run(["demo", "--plain", "--out", folder.path])
        guard demo.status == 0 else { throw DashboardTestFailure("the demo failed: \(demo.stdout.suffix(600)) \(demo.stderr.suffix(600))") }
        return folder.appendingPathComponent("station.sqlite").path
    }

    @Test func overADemoStoreInARealBrowser() async throws {
        let path = try await Self.demoStore()
        let records = try StationStore(readingOnly: path).records()
        let stalled = try #require(records.first { $0.failureCode == "DFU-WRITE-STALL" })
        let passed = try #require(records.first { $0.passed && $0.iccid != nil && $0.serialNumber != nil })
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let served = try await Served(["--store", path, "--listen", "127.0.0.1:0"])
        defer { served.stop() }
        let origin = String(served.base.dropLast())

        // The line page: both codes, the yield, and nothing loaded from anywhere else.
        let line = try await Self.browse(served.base, origin: origin)
        #expect(line.dom.contains("DFU-WRITE-STALL") && line.dom.contains("PAIR-MISMATCH"), "\(line.dom.prefix(400))")
        #expect(line.dom.contains("66.7%"), "the yield")
        #expect(line.dom.contains("data-state=\"live\"") || line.dom.contains("data-state=\"static\""))
        #expect(!line.requests.isEmpty && line.requests.allSatisfy { $0.hasPrefix(origin + "/") }, "\(line.requests)")
        #expect(line.requests.contains(origin + "/static/dashboard.css"), "\(line.requests)")

        // The stalled device's page.
        let device = try await Self.browse(served.base + "devices/" + stalled.deviceID, origin: origin)
        #expect(device.dom.contains(stalled.deviceID) && device.dom.contains("DFU-WRITE-STALL"))
        #expect(!device.dom.contains(stalled.mobileSecret ?? "no secret read") && !device.dom.contains("mobileSecret"))

        // The failures page: both codes, each with its devices linked.
        let failures = try await Self.browse(served.base + "failures", origin: origin)
        #expect(failures.dom.contains("id=\"code-DFU-WRITE-STALL\"") && failures.dom.contains("id=\"code-PAIR-MISMATCH\""))
        #expect(failures.dom.contains("href=\"/devices/\(stalled.deviceID)\""))
        let station = try await Self.browse(served.base + "stations/" + stalled.stationID, origin: origin)
        #expect(station.dom.contains("Station \(stalled.stationID)") && station.dom.contains("66.7%"))

        // A passed device's modules after, each with its own SHA-256: for what the station
        // wrote, the field at N-38 in the file the demo wrote (particle-module-format.md 7),
        // read from the file's bytes here, not through the station's parser.
        let firmware = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("firmware")
        let files = try FileManager.default.subpathsOfDirectory(atPath: firmware.path).filter { $0.hasSuffix(".bin") }
        let written = try #require(passed.written.first { $0.file.contains("system-part1") }, "\(passed.written)")
        let file = try #require(files.first { $0.hasSuffix("/" + written.file) && $0.contains(passed.platform ?? "?") }, "\(files)")
        let bytes = [UInt8](try Data(contentsOf: firmware.appendingPathComponent(file)))
        let field = bytes[(bytes.count - 38)..<(bytes.count - 6)].map { String(format: "%02x", $0) }.joined()
        let after = try #require(passed.modulesAfter.first { $0.function == "systemPart" })
        #expect(after.sha256 == field, "the record's system part hash is the written file's")
        let passedPage = try await Self.browse(served.base + "devices/" + passed.deviceID, origin: origin)
        #expect(passedPage.dom.contains(field), "the device page shows it")
        #expect(passed.modulesBefore.contains { $0.sha256 != nil } && passedPage.dom.contains("Modules before"))

        // Search by serial and by ICCID lands on the device.
        for term in [passed.serialNumber!, passed.iccid!] {
            let found = try await Self.browse(served.base + "search?q=" + term, origin: origin)
            #expect(found.dom.contains("<span id=\"device-id\">\(passed.deviceID)</span>"), "searching \(term)")
        }
        let nothing = try await Self.get(served.base + "search?q=P0NOTASERIAL")
        #expect(nothing.status == 404 && nothing.body.contains("Nothing found"))

        // The numbers are the report's.
        let report = try await StationBinaryTests.run(["report", "--store", path, "--format", "json"])
        let reportJSON = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        let api = try await Self.get(served.base + "api/line?range=30d")
        #expect(api.status == 200)
        let overview = try #require(try JSONSerialization.jsonObject(with: Data(api.body.utf8)) as? [String: Any])
        let totals = try #require(overview["totals"] as? [String: Any])
        for key in ["devices", "attempts", "passed", "failed"] {
            #expect(totals[key] as? Int == reportJSON[key] as? Int, "\(key): \(String(describing: totals[key])) against \(String(describing: reportJSON[key]))")
        }
        for key in ["yield", "firstPassYield"] {
            #expect(abs((totals[key] as? Double ?? -1) - (reportJSON[key] as? Double ?? -2)) < 1e-9, "\(key)")
        }
        let deviceAPI = try await Self.get(served.base + "api/devices/" + stalled.deviceID)
        #expect(deviceAPI.status == 200 && deviceAPI.body.contains("DFU-WRITE-STALL") && !deviceAPI.body.contains("mobileSecret"))

        // The store was only read.
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "the dashboard wrote the store")
    }

    @Test func aNewRecordReachesAnOpenPagesEventStream() async throws {
        let path = try await Self.demoStore()
        let served = try await Served(["--store", path, "--listen", "127.0.0.1:0"])
        defer { served.stop() }
        // A client holds /events open; a station (this test) records an attempt meanwhile.
        let script = """
            import sys, time, urllib.request
            stream = urllib.request.urlopen(sys.argv[1], timeout=60)
            seen = []
            deadline = time.time() + 60
            while time.time() < deadline:
                line = stream.readline().decode()
                seen.append(line.strip())
                if line.startswith("event: hello"):
                    open(sys.argv[2], "w").write("open")
                if line.startswith("event: update"):
                    print("update"); sys.exit(0)
            print("no update: " + " | ".join(seen)); sys.exit(1)
            """
        let signal = FileManager.default.temporaryDirectory.appendingPathComponent("dash-open-\(UUID().uuidString)").path
        let listener = Task { try await StationBinaryTests.runProgram("/usr/bin/python3", ["-c", script, served.base + "events", signal]) }
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: signal) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let store = try StationStore(path: path, create: false)
        try store.record(ProvisioningRecord(deviceID: "e00fce68ffffffffffffffff", attempt: 1, stationID: "demo", startedAt: Date(), finishedAt: Date(), passed: true))
        let heard = try await listener.value
        #expect(heard.status == 0 && heard.stdout.contains("update"), "\(heard.stdout) \(heard.stderr)")
        // The page shows it on the next fetch.
        let line = try await Self.get(served.base)
        #expect(line.body.contains(">5 PASS<"), "five passed now")
    }

    @Test func offLoopbackOnlyWithTheViewerToken() async throws {
        let path = try await Self.demoStore()
        let refused = try await StationBinaryTests.run(["line", "serve", "--store", path, "--listen", "0.0.0.0:0"])
        #expect(refused.status == 64 && refused.stderr.contains("DASHBOARD-TOKEN-REQUIRED"), "\(refused.stderr)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dash-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let tokenFile = folder.appendingPathComponent("viewer-token").path
        let token = "v1ewer-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: tokenFile, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o644])
        let loose = try await StationBinaryTests.run(["line", "serve", "--store", path, "--listen", "0.0.0.0:0", "--viewer-token-file", tokenFile])
        #expect(loose.status == 65 && loose.stderr.contains("DASHBOARD-TOKEN-FILE") && !loose.stderr.contains(token), "\(loose.stderr)")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile)

        let served = try await Served(["--store", path, "--listen", "0.0.0.0:0", "--viewer-token-file", tokenFile])
        defer { served.stop() }
        let base = served.base.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
        for path in ["", "devices/x", "api/line", "events", "search?q=x"] {
            let bare = try await Self.get(base + path)
            #expect(bare.status == 401, "/\(path) without the token: \(bare.status)")
        }
        #expect(try await Self.get(base + "api/line", headers: ["Authorization": "Bearer wrong-" + token]).status == 401)
        let api = try await Self.get(base + "api/line", headers: ["Authorization": "Bearer " + token])
        #expect(api.status == 200 && api.body.contains("\"totals\""))
        let page = try await Self.get(base, headers: ["Cookie": "station_viewer=" + token])
        #expect(page.status == 200 && page.body.contains("The line now"))
        #expect(try await Self.get(base + "static/dashboard.css").status == 200, "the sign-in page's stylesheet needs no token")
    }

    /// The same pages over the line database: a demo's store shipped there, the page open, a
    /// second station's store shipped while it is (its event stream hears it), and the
    /// session's writes refused by the server.
    @Test func overTheLineDatabase() async throws {
        let server = try await ThrowawayPostgres.start()
        defer { Task { await server.destroy() } }
        #expect(try await StationBinaryTests.run(["line", "migrate", "--database", server.url]).status == 0)
        let first = try await Self.demoStore(), second = try await Self.demoStore()
        let ship = try await StationBinaryTests.run(["line", "sync", "--store", first, "--database", server.url])
        #expect(ship.status == 0, "\(ship.stderr)")
        let stalled = try #require(try StationStore(readingOnly: first).records().first { $0.failureCode == "DFU-WRITE-STALL" })
        let served = try await Served(["--database", server.url, "--listen", "127.0.0.1:0"])
        defer { served.stop() }
        let origin = String(served.base.dropLast())
        let line = try await Self.browse(served.base, origin: origin)
        #expect(line.dom.contains("DFU-WRITE-STALL") && line.dom.contains("PAIR-MISMATCH") && line.dom.contains("66.7%"), "\(line.dom.prefix(600))")
        #expect(!line.requests.isEmpty && line.requests.allSatisfy { $0.hasPrefix(origin + "/") }, "\(line.requests)")
        let device = try await Self.browse(served.base + "devices/" + stalled.deviceID, origin: origin)
        #expect(device.dom.contains(stalled.deviceID) && device.dom.contains("DFU-WRITE-STALL"))
        let found = try await Self.get(served.base + "api/search?q=" + (stalled.iccid ?? "none"))
        #expect(found.status == 200 && found.body.contains(stalled.deviceID) || stalled.iccid == nil, "\(found)")

        // A second station ships while the page's event stream is open.
        let script = """
            import sys, time, urllib.request
            stream = urllib.request.urlopen(sys.argv[1], timeout=60)
            deadline = time.time() + 60
            while time.time() < deadline:
                line = stream.readline().decode()
                if line.startswith("event: hello"):
                    open(sys.argv[2], "w").write("open")
                if line.startswith("event: update"):
                    print("update"); sys.exit(0)
            sys.exit(1)
            """
        let signal = FileManager.default.temporaryDirectory.appendingPathComponent("dash-pg-\(UUID().uuidString)").path
        let listener = Task { try await StationBinaryTests.runProgram("/usr/bin/python3", ["-c", script, served.base + "events", signal]) }
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: signal) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let shipSecond = try await StationBinaryTests.run(["line", "sync", "--store", second, "--database", server.url])
        #expect(shipSecond.status == 0, "\(shipSecond.stderr)")
        let heard = try await listener.value
        #expect(heard.status == 0 && heard.stdout.contains("update"), "\(heard.stdout) \(heard.stderr)")
        let api = try await Self.get(served.base + "api/line")
        let overview = try #require(try JSONSerialization.jsonObject(with: Data(api.body.utf8)) as? [String: Any])
        #expect((overview["totals"] as? [String: Any])?["devices"] as? Int == 12, "both demos' devices")

        // The line database goes down: pages say so with the code (503, never an empty 500),
        // each API route answers 503 as its OpenAPI document says; back up, pages are back.
        try await server.stop(immediate: true)
        let down = try await Self.get(served.base)
        #expect(down.status == 503 && down.body.contains("<code>LINE-UNREACHABLE</code>") && down.body.contains("cannot be read now"), "\(down.status) \(down.body.prefix(400)) \(served.said)")
        let check = """
            import json, sys, urllib.request, urllib.error
            from openapi_schema_validator import OAS31Validator
            base, device = sys.argv[1:3]
            doc = json.loads(urllib.request.urlopen(base + "api/openapi.json").read())
            problems = []
            for template, path in [("/api/line", "api/line"), ("/api/stations/{id}", "api/stations/demo-bench"), ("/api/failures", "api/failures"),
                                   ("/api/devices/{id}", "api/devices/" + device), ("/api/search", "api/search?q=" + device)]:
                try:
                    urllib.request.urlopen(base + path); problems.append(path + ": answered while the database is down"); continue
                except urllib.error.HTTPError as error:
                    status, body = error.code, json.loads(error.read())
                if status != 503 or body.get("code") != "LINE-UNREACHABLE": problems.append("%s: %d %s" % (path, status, body)); continue
                response = doc["paths"][template]["get"]["responses"]["503"]
                response = doc["components"]["responses"][response["$ref"].split("/")[-1]]
                schema = dict(doc); schema.update(response["content"]["application/json"]["schema"])
                problems += ["%s: %s" % (path, e.message) for e in OAS31Validator(schema).iter_errors(body)]
            print("\\n".join(problems) if problems else "ok"); sys.exit(1 if problems else 0)
            """
        let checked = try await StationBinaryTests.runProgram("/usr/bin/python3", ["-c", check, served.base, stalled.deviceID])
        #expect(checked.status == 0 && checked.stdout.hasPrefix("ok"), "\(checked.stdout) \(checked.stderr.suffix(600))")
        try await server.begin()
        let back = try await Self.get(served.base)
        #expect(back.status == 200 && back.body.contains("DFU-WRITE-STALL"))
    }

    /// Every `/api/` route's answers, found and not found, checked against the served OpenAPI
    /// document by validators that are not ours (openapi-spec-validator for the document,
    /// openapi-schema-validator for each response); a response with a field taken out is the
    /// control that shows the check can fail.
    @Test func theAPIMatchesItsOpenAPIDocument() async throws {
        let path = try await Self.demoStore()
        let records = try StationStore(readingOnly: path).records()
        let device = try #require(records.first { $0.passed && $0.serialNumber != nil })
        let served = try await Served(["--store", path, "--listen", "127.0.0.1:0"])
        defer { served.stop() }
        let script = """
            import json, sys, urllib.parse, urllib.request, urllib.error
            try:
                from openapi_spec_validator import validate as validate_spec
                from openapi_schema_validator import OAS31Validator
            except ImportError:
                print("the OpenAPI validators are missing: python3 -m pip install --break-system-packages openapi-spec-validator openapi-schema-validator (bash .ci/run does)")
                sys.exit(2)
            base, device, station, serial = sys.argv[1:5]
            doc = json.loads(urllib.request.urlopen(base + "api/openapi.json").read())
            validate_spec(doc)
            def get(path):
                try:
                    response = urllib.request.urlopen(base + path.lstrip("/"))
                    return response.status, json.loads(response.read())
                except urllib.error.HTTPError as error:
                    return error.code, json.loads(error.read())
            def check(template, path, status, body):
                response = doc["paths"][template]["get"]["responses"][str(status)]
                if "$ref" in response:
                    response = doc["components"]["responses"][response["$ref"].split("/")[-1]]
                spec = response["content"]["application/json"]["schema"]
                schema = dict(doc); schema.update(spec)
                return sorted(e.message for e in OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER).iter_errors(body))
            q = urllib.parse.quote
            calls = [("/api/line", "/api/line", 200), ("/api/line", "/api/line?range=30d", 200), ("/api/line", "/api/line?range=nonsense", 200),
                     ("/api/stations/{id}", "/api/stations/" + q(station), 200), ("/api/stations/{id}", "/api/stations/nobody", 404),
                     ("/api/failures", "/api/failures", 200), ("/api/failures", "/api/failures?station=" + q(station) + "&range=1h", 200),
                     ("/api/devices/{id}", "/api/devices/" + device, 200), ("/api/devices/{id}", "/api/devices/e00f00000000000000000000", 404),
                     ("/api/search", "/api/search?q=" + q(serial), 200), ("/api/search", "/api/search?q=nothing", 404)]
            problems = []
            for template, path, status in calls:
                got, body = get(path)
                if got != status:
                    problems.append("%s: status %d, not %d" % (path, got, status)); continue
                problems += ["%s: %s" % (path, m) for m in check(template, path, status, body)]
            assert set(doc["paths"]) == {c[0] for c in calls}, "every documented route is called"
            # The control: the line without its totals is caught.
            _, line = get("/api/line")
            del line["totals"]
            caught = check("/api/line", "/api/line", 200, line)
            if not caught: problems.append("the control was not caught")
            print("\\n".join(problems) if problems else "ok: %d calls" % len(calls))
            sys.exit(1 if problems else 0)
            """
        let run = try await StationBinaryTests.runProgram("/usr/bin/python3", ["-c", script, served.base, device.deviceID, device.stationID, device.serialNumber!])
        #expect(run.status == 0 && run.stdout.hasPrefix("ok: 11 calls"), "\(run.stdout) \(run.stderr.suffix(1500))")
    }

    /// The issue's live check in a real browser: `/` open in chromium (driven by
    /// `live-update.py` over its DevTools pipe), a result recorded meanwhile, and the page
    /// shows it without a reload (a mark set on the page survives); how long it took is
    /// printed (the issue's figure: 5 s at most), not asserted, as a loaded machine runs
    /// slowly. Then the
    /// server goes away: the page says reconnecting; a result is recorded while it is away
    /// and the server comes back on the same address: the page says live again and shows
    /// the result it missed, still the same page.
    @Test func aResultAppearsOnAnOpenPageWithoutAReload() async throws {
        let chromium = try #require(Chromium.path, "chromium is not installed: `apt-get install chromium`")
        let path = try await Self.demoStore()
        var served = try await Served(["--store", path, "--listen", "127.0.0.1:0"])
        defer { served.stop() }
        let address = String(served.base.dropFirst("http://".count).dropLast())
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dash-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func said(_ name: String) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(120)
            while !FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            return FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path)
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("live-update.py").path
        let arguments = [script, chromium, served.base, folder.path]
        let browser = Task { try await StationBinaryTests.runProgram("/usr/bin/python3", arguments) }
        let store = try StationStore(path: path, create: false)
        try #require(try await said("open"), "the page never said live")
        try store.record(ProvisioningRecord(deviceID: "e00fce68eeeeeeeeeeeeeeee", attempt: 1, stationID: "demo-bench", startedAt: Date(), finishedAt: Date(), passed: true))
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("recorded").path, contents: Data())
        if try await said("shown") {
            served.stop()
            if try await said("saw-reconnecting") {
                try store.record(ProvisioningRecord(deviceID: "e00fce68ffffffffffffffff", attempt: 1, stationID: "demo-bench", startedAt: Date(), finishedAt: Date(), passed: true))
                served = try await Served(["--store", path, "--listen", address])
            }
        }
        let run = try await browser.value
        #expect(run.status == 0, "\(run.stdout) \(run.stderr.suffix(800))")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
        #expect((result["before"] as? String)?.contains("4 PASS") == true, "\(result)")
        #expect(result["state"] as? String == "live")
        #expect((result["away"] as? String)?.contains("reconnecting") == true, "\(result)")
        #expect(result["back"] as? String == "live")
        let seconds = result["seconds"] as? Double ?? 99
        print("dashboard: the new result appeared on the open page after \(String(format: "%.2f", seconds)) s")
    }

    /// Readable at 1280 px and device pages that print well, in chromium (`page-layout.py`):
    /// the pages over a demo store with a week of older attempts added (the 7- and 30-day
    /// charts included) are not blank and nothing is wider than the window; the stalled
    /// device's page for print hides the header, fits an A4 page, keeps PASS/FAIL's colours,
    /// and its PDF (read by poppler's pdftotext) holds the device, its failure and every
    /// module SHA-256 whole, and no mobile secret.
    @Test func pagesFitAt1280AndADevicePagePrints() async throws {
        let chromium = try #require(Chromium.path, "chromium is not installed: `apt-get install chromium`")
        let pdftotext = "/usr/bin/pdftotext"
        try #require(FileManager.default.isExecutableFile(atPath: pdftotext), "pdftotext is not installed: `apt-get install poppler-utils` (bash .ci/run installs it)")
        let path = try await Self.demoStore()
        let store = try StationStore(path: path, create: false)
        // A week of older attempts, one every 20 minutes, every fifth failed.
        let now = Date()
        for index in 0..<500 {
            let finished = now.addingTimeInterval(-Double(index + 1) * 1200)
            try store.record(ProvisioningRecord(deviceID: String(format: "e00fce68%016x", index), attempt: 1, stationID: "bench-week", startedAt: finished.addingTimeInterval(-40),
                                                finishedAt: finished, passed: index % 5 != 0, failureCode: index % 5 == 0 ? "DFU-WRITE-STALL" : nil))
        }
        let records = try store.records()
        let stalled = try #require(records.first { $0.failureCode == "DFU-WRITE-STALL" && $0.stationID != "bench-week" })
        let hashes = Set(stalled.modulesBefore.compactMap(\.sha256) + stalled.modulesAfter.compactMap(\.sha256))
        #expect(!hashes.isEmpty, "the demo's records carry module hashes")
        let served = try await Served(["--store", path, "--listen", "127.0.0.1:0"])
        defer { served.stop() }
        let base = served.base
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dash-layout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("page-layout.py").path
        let pages = ["", "?range=7d", "?range=30d", "stations/bench-week?range=7d", "stations/demo-bench", "failures?range=7d"].map { base + $0 }
        let run = try await StationBinaryTests.runProgram("/usr/bin/python3", [script, chromium, folder.path, base + "devices/" + stalled.deviceID] + pages)
        #expect(run.status == 0, "\(run.stdout.suffix(3000)) \(run.stderr.suffix(800))")
        let layout = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
        let printed = try #require(layout["print"] as? [String: Any])
        let colours = printed["colours"] as? [String: Any]
        #expect(colours?["fail"] as? String == "rgb(192, 57, 43)" && printed["colourAdjust"] as? String == "exact", "\(printed)")
        let text = try await StationBinaryTests.runProgram(pdftotext, ["-layout", folder.appendingPathComponent("device.pdf").path, "-"])
        #expect(text.status == 0, "\(text.stderr)")
        let joined = text.stdout.filter { !$0.isWhitespace }
        #expect(joined.contains(stalled.deviceID) && joined.contains("DFU-WRITE-STALL") && text.stdout.contains("FAIL"), "\(text.stdout.prefix(600))")
        for hash in hashes { #expect(joined.contains(hash), "the printed page holds \(hash) whole") }
        if let secret = stalled.mobileSecret { #expect(!joined.contains(secret)) }
    }
}


struct DashboardTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}
