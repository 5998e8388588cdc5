import FakeParticleCloud
import Foundation
import ParticleDevices
import StationStore
import TestSupport
import Testing

/// `station queue` as a technician runs it, against the fake cloud on loopback.
@Suite(.serialized) struct QueueBinaryTests {
    static let token = "prodtoken0123456789abcdef0123456789"

    /// A folder with a station config and owner-only credentials, a fake cloud with a paid
    /// Boron product and `count` manufactured devices.
    final class Station: @unchecked Sendable {
        let folder: URL
        let cloud = FakeParticleCloud()
        let server: LoopbackHTTPServer
        var devices: [(id: String, iccid: String, serial: String)] = []

        init(count: Int, batch: Int = 50, latency: Duration = .zero) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("queue-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            cloud.addProduct(.init(id: 4242, slug: "boron-fleet", platformID: 13, plan: .paid, owner: "factory"))
            cloud.addToken(QueueBinaryTests.token, .init(name: "factory"))
            cloud.latency = latency
            server = try cloud.serve()
            for _ in 0..<count {
                let id = "e00f" + (0..<20).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
                let iccid = Luhn.completing("8901" + (0..<15).map { _ in String(Int.random(in: 0...9)) }.joined())
                let serial = "P0" + (0..<13).map { _ in String("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789".randomElement()!) }.joined()
                cloud.manufacture(.init(deviceID: id, platformID: 13, serial: serial, iccid: iccid))
                devices.append((id, iccid, serial))
            }
            try """
                [station]
                id = "bench-test"
                [product]
                id = 4242
                platform = "boron"
                [cloud]
                api_base_url = "\(server.baseURL)"
                credentials_file = "credentials.toml"
                batch_size = \(batch)
                [store]
                path = "\(folder.path)/station.sqlite"
                """.write(to: folder.appendingPathComponent("station.toml"), atomically: true, encoding: .utf8)
            try credentials(mode: 0o600)
        }

        func credentials(mode: Int) throws {
            let path = folder.appendingPathComponent("credentials.toml").path
            try "product_token = \"\(QueueBinaryTests.token)\"\n".write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }

        var config: String { folder.appendingPathComponent("station.toml").path }

        func tray(_ lines: [String], ending: String = "\n") throws -> String {
            try tray(bytes: Array((lines.joined(separator: ending) + ending).utf8))
        }

        func tray(bytes: [UInt8]) throws -> String {
            let path = folder.appendingPathComponent("tray.txt").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }

        deinit {
            server.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    @Test func aTrayFileWithABadLineQueuesNothingUnlessAsked() async throws {
        let station = try Station(count: 3)
        let d = station.devices
        let tray = try station.tray(["# tray 7", "\(d[0].id),\(d[0].iccid),\(d[0].serial)", "\(d[1].id)\t\(d[1].iccid)", "e00fZZZ,123", "\(d[2].id) \(d[2].serial)"])
        let refused = try await StationBinaryTests.run(["queue", "add", "--config", station.config, "--file", tray])
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("line 4:") && refused.stderr.contains("FAIL [TRAY-INVALID]: nothing queued") && refused.stdout.isEmpty)
        let store = try StationStore(path: station.folder.appendingPathComponent("station.sqlite").path)
        #expect(try store.items().isEmpty)
        let skipped = try await StationBinaryTests.run(["queue", "add", "--config", station.config, "--file", tray, "--skip-bad"])
        #expect(skipped.status == 1 && skipped.stdout.contains("queued 3 devices"), "\(skipped.stdout)")
        #expect(try store.items().map(\.iccid).compactMap { $0 }.count == 2)
    }

    /// Seen: a tray file saved on Windows (CR LF) or an old Mac (CR) was one line, and
    /// nothing was queued. Each ending, and a byte-order mark, reads as the same three lines.
    @Test(arguments: ["\r\n", "\r", "\n"])
    func everyLineEndingQueuesTheWholeTray(ending: String) async throws {
        let station = try Station(count: 3)
        let d = station.devices
        let lines = ["# tray 8", "\(d[0].id),\(d[0].iccid)", "", "\(d[1].id)", "\(d[2].id) \(d[2].serial)"]
        let tray = try station.tray(bytes: [0xEF, 0xBB, 0xBF] + Array((lines.joined(separator: ending) + ending).utf8))
        let run = try await StationBinaryTests.run(["queue", "add", "--config", station.config, "--file", tray])
        #expect(run.status == 0 && run.stdout.contains("queued 3 devices"), "\(run.stdout)\(run.stderr)")
    }

    /// Invalid UTF-8 names its line and byte offset, exit 65, and queues nothing.
    @Test func invalidUTF8NamesTheLineAndByteOffset() async throws {
        let station = try Station(count: 2)
        let d = station.devices
        let good = Array("\(d[0].id)\r\n".utf8)
        let tray = try station.tray(bytes: good + Array("\(d[1].id),".utf8) + [0xC3, 0x28] + Array("\r\n".utf8))
        let run = try await StationBinaryTests.run(["queue", "add", "--config", station.config, "--file", tray])
        #expect(run.status == 65, "\(run.stderr)")
        #expect(run.stderr.contains("FAIL [FILE-NOT-TEXT]") && run.stderr.contains("line 2, byte offset \(good.count + 25)"), "\(run.stderr)")
        let store = try StationStore(path: station.folder.appendingPathComponent("station.sqlite").path)
        #expect(try store.items().isEmpty)
    }

    /// Issue 15, point 4: three processes opening one brand-new store at once failed 5 of
    /// 80 times ("table device already exists"). The schema is set up by one at a time.
    @Test func threeProcessesOpeningANewStoreAtOnceAllSucceed() async throws {
        let station = try Station(count: 3)
        for round in 0..<12 {
            let store = station.folder.appendingPathComponent("round-\(round).sqlite").path
            var processes: [Process] = []
            for device in station.devices {
                let process = Process()
                process.executableURL = try StationBinaryTests.stationPath()
                process.arguments = ["queue", "add", "--config", station.config, "--store", store, device.id]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                processes.append(process)
            }
            for process in processes { try process.run() }
            let started = processes
            try await offThePool { for process in started { process.waitUntilExit() } }
            #expect(processes.allSatisfy { $0.terminationStatus == 0 }, "round \(round): \(processes.map(\.terminationStatus))")
            #expect(try StationStore(path: store).items().count == 3, "round \(round)")
        }
    }

    /// A queue add killed midway queued part of the file (2,279 to 38,994 of 50,000). Now
    /// the file is one transaction: all or nothing, whenever the kill comes.
    @Test func aTrayAddKilledMidwayQueuesAllOrNothing() async throws {
        let station = try Station(count: 0)
        let lines = (0..<50_000).map { String(format: "e00f%020x", $0) }
        let tray = try station.tray(lines)
        var seen: Set<Int> = []
        for (round, delay) in [0.05, 0.15, 0.3, 0.6, 1.0].enumerated() {
            let store = station.folder.appendingPathComponent("kill-\(round).sqlite").path
            let process = Process()
            process.executableURL = try StationBinaryTests.stationPath()
            process.arguments = ["queue", "add", "--config", station.config, "--store", store, "--file", tray]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
            kill(process.processIdentifier, SIGKILL)
            try await offThePool { process.waitUntilExit() }
            guard FileManager.default.fileExists(atPath: store) else { seen.insert(0); continue }
            let count = try StationStore(path: store).items().count
            #expect(count == 0 || count == 50_000, "killed after \(delay) s: \(count) of 50,000 queued")
            seen.insert(count)
        }
        print("queue add killed at 5 moments: queued counts seen \(seen.sorted())")
    }

    /// 100,000 lines in one transaction; the time is printed (a figure, not an assertion).
    @Test func aTrayOfOneHundredThousandLines() async throws {
        let station = try Station(count: 0)
        let tray = try station.tray((0..<100_000).map { String(format: "e00f%020x", $0) })
        let started = Date()
        let run = try await StationBinaryTests.run(["queue", "add", "--config", station.config, "--file", tray])
        let seconds = Date().timeIntervalSince(started)
        #expect(run.status == 0 && run.stdout.contains("queued 100000 devices"), "\(run.stdout)\(run.stderr)")
        print("queue add of 100,000 lines: \(String(format: "%.1f", seconds)) s")
    }

    @Test func malformedIDsAndICCIDsAreRejectedWithTheReason() async throws {
        let station = try Station(count: 1)
        let badICCID = String(station.devices[0].iccid.dropLast()) + String((Int(String(station.devices[0].iccid.last!))! + 1) % 10)
        let run = try await StationBinaryTests.run(["queue", "add", "--config", station.config, "\(station.devices[0].id),\(badICCID)", "e00fce68ae40e8a1f5b4c2d"])
        #expect(run.status == 65)
        #expect(run.stderr.contains("line 1:") && run.stderr.lowercased().contains("check digit"), "\(run.stderr)")
        #expect(run.stderr.contains("line 2:") && run.stderr.contains("neither a device ID"), "\(run.stderr)")
    }

    @Test func looseCredentialsAreRefusedWithTheFix() async throws {
        let station = try Station(count: 1)
        try station.credentials(mode: 0o644)
        _ = try await StationBinaryTests.run(["queue", "add", "--config", station.config, station.devices[0].id])
        let run = try await StationBinaryTests.run(["queue", "sync", "--config", station.config])
        #expect(run.status == 65 && run.stderr.contains("chmod 600"), "\(run.stderr)")
        #expect(!run.stdout.contains(QueueBinaryTests.token) && !run.stderr.contains(QueueBinaryTests.token))
        #expect(station.cloud.ledger.isEmpty, "nothing was sent")
    }

    @Test func syncStatusAndExport() async throws {
        let station = try Station(count: 4, batch: 3)
        let ids = station.devices.map { "\($0.id),\($0.iccid)" }
        #expect(try await StationBinaryTests.run(["queue", "add", "--config", station.config] + ids).status == 0)
        let sync = try await StationBinaryTests.run(["queue", "sync", "--config", station.config])
        #expect(sync.status == 0 && sync.stdout.contains("4 imported") && sync.stdout.contains("queue drained"), "\(sync.stdout)")
        #expect(station.cloud.ledger.filter { $0.path.hasSuffix("/devices") }.map(\.sentIDs.count) == [3, 1])
        let status = try await StationBinaryTests.run(["queue", "status", "--config", station.config, "--device", station.devices[0].id])
        #expect(status.stdout.contains("done: 4") && status.stdout.contains("import-devices  HTTP 200  ok  -> updated"), "\(status.stdout)")
        let csv = try await StationBinaryTests.run(["queue", "export", "--config", station.config])
        #expect(csv.stdout.split(separator: "\r\n").count == 5 && csv.stdout.contains("\(station.devices[1].id),,\(station.devices[1].iccid),done,product"))
        // The same through overrides: any server speaking the API, a token file.
        let tokenFile = station.folder.appendingPathComponent("token").path
        try (QueueBinaryTests.token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile)
        let store = station.folder.appendingPathComponent("other.sqlite").path
        _ = try await StationBinaryTests.run(["queue", "add", "--store", store, station.devices[0].id])
        let override = try await StationBinaryTests.run(["queue", "sync", "--store", store, "--api-url", station.server.baseURL, "--product", "boron-fleet", "--token-file", tokenFile])
        #expect(override.status == 0 && override.stdout.contains("1 already in the product"), "\(override.stdout)")
    }

    @Test func queueBenchPrintsOneObjectPerRun() async throws {
        let run = try await StationBinaryTests.run(["benchmark", "queue", "--json", "--devices", "150", "--devices", "300", "--batch-size", "100"])
        #expect(run.status == 0, "\(run.stdout)")
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(runs.map { $0["devices"] as? Int } == [150, 300])
        #expect(runs.map { $0["requests"] as? Int } == [2, 3], "batches of 100")
        #expect(runs.allSatisfy { ($0["seconds"] as? Double ?? 0) > 0 && ($0["peakRSSBytes"] as? Int ?? 0) > 1_000_000 })
    }

    /// The crash test: `station queue sync` killed with SIGKILL again and again, mostly while a
    /// request is in flight. Nothing is lost and nothing is imported twice.
    @Test func killedFiftyTimesLosesNothing() async throws {
        // 200 requests of 80 ms: far more than 50 short runs can finish.
        let station = try Station(count: 2000, batch: 10, latency: .milliseconds(80))
        let tray = try station.tray(station.devices.map { "\($0.id),\($0.iccid)" })
        #expect(try await StationBinaryTests.run(["queue", "add", "--config", station.config, "--file", tray]).status == 0)
        var kills = 0
        while kills < 50 {
            let child = AsyncProcess(try StationBinaryTests.stationPath(), ["queue", "sync", "--config", station.config])
            try child.run()
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...500)))
            if child.process.isRunning {
                kill(child.process.processIdentifier, SIGKILL)
                kills += 1
            }
            await child.exit()
            // Without a kill, the run drained the queue: start over with the next kill.
            if child.process.terminationReason == .exit { break }
        }
        let final = try await StationBinaryTests.run(["queue", "sync", "--config", station.config])
        #expect(final.status == 0, "\(final.stdout)")
        #expect(kills == 50 && final.stdout.contains("queue drained"), "\(kills) kills")
        #expect(station.server.abandonedResponses >= kills / 2, "most kills hit a request in flight: \(station.server.abandonedResponses) of \(kills)")
        print("crash test: \(kills) SIGKILLs, \(station.server.abandonedResponses) with a request in flight, \(station.cloud.ledger.count) calls in all")
        // Every device imported exactly once over all calls, and all in the product.
        let updated = station.cloud.ledger.flatMap { $0.response["updatedDeviceIds"] ?? [] }
        #expect(updated.count == 2000 && Set(updated) == Set(station.devices.map(\.id)), "updated \(updated.count), distinct \(Set(updated).count)")
        // The store agrees with the ledger: every device done, each with an import outcome the
        // fake really gave it.
        let store = try StationStore(path: station.folder.appendingPathComponent("station.sqlite").path)
        #expect(try store.counts() == [.done: 2000])
        let existing = Set(station.cloud.ledger.flatMap { $0.response["existingDeviceIds"] ?? [] })
        for device in station.devices {
            let outcomes = try store.history(device.id).map(\.1).filter { $0 == "updated" || $0 == "existing" }
            #expect(outcomes.count >= 1 && (outcomes.last == "updated" || existing.contains(device.id)))
        }
    }
}
