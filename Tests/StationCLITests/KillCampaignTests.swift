import Foundation
import StationStore
import TestSupport
import Testing

/// The kill campaign: a station provisioning an emulated bench (`station lab bench-child`, a
/// process of its own) is killed with SIGKILL at random moments and started again on the same
/// store, over and over; then it runs to the end. Whatever moment a kill hits (guard,
/// identify, flash, record, save), afterwards every device is recorded exactly once, PASS or
/// FAIL as its bench says; every passed device is queued exactly once, no failed one; the
/// store passes `PRAGMA integrity_check`; no device ever connected.
@Suite(.serialized) struct KillCampaignTests {
    struct Child: Sendable {
        let process: Process
        let output: Pipe
    }

    static func start(store: String, seed: UInt64) throws -> Child {
        let process = Process()
        process.executableURL = try StationBinaryTests.stationPath()
        process.arguments = ["lab", "bench-child", "--store", store, "--seed", String(seed), "--devices", "6", "--failing", "2"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Child(process: process, output: output)
    }

    @Test func fiftyKillsAndEveryDeviceIsRecordedAndQueuedExactlyOnce() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kill-campaign-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var random = SystemRandomNumberGenerator()
        var kills = 0, round = 0
        var finishedBeforeTheKill = 0
        while kills < 50 {
            round += 1
            let store = folder.appendingPathComponent("round-\(round)/station.sqlite").path
            try FileManager.default.createDirectory(atPath: (store as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let seed = UInt64.random(in: 1...UInt64.max, using: &random)
            // Kills at random moments of a run (a whole bench takes a few seconds; each start
            // re-plugs it, so short runs still reach every phase over the rounds).
            for _ in 0..<12 where kills < 50 {
                let child = try Self.start(store: store, seed: seed)
                try await Task.sleep(for: .milliseconds(Int.random(in: 20...1500, using: &random)))
                if child.process.isRunning {
                    kill(child.process.processIdentifier, SIGKILL)
                    try await offThePool { child.process.waitUntilExit() }
                    if child.process.terminationReason == .uncaughtSignal && child.process.terminationStatus == SIGKILL { kills += 1 }
                } else {
                    try await offThePool { child.process.waitUntilExit() }
                    finishedBeforeTheKill += 1
                }
            }
            // The restart that finishes the bench.
            let last = try Self.start(store: store, seed: seed)
            let data = try await offThePool {
                let data = last.output.fileHandleForReading.readDataToEndOfFile()
                last.process.waitUntilExit()
                return data
            }
            #expect(last.process.terminationStatus == 0, "round \(round): \(String(decoding: data, as: UTF8.self))")
            let line = try #require(String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init))
            let outcome = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let ids = try #require(outcome["devices"] as? [String])
            let failing = try #require(outcome["failing"] as? String)
            #expect((outcome["connected"] as? [String])?.isEmpty == true, "round \(round): devices connected: \(outcome)")

            let opened = try StationStore(path: store)
            let records = try opened.records()
            for id in ids {
                let mine = records.filter { $0.deviceID == id }
                #expect(mine.count == 1, "round \(round): \(id) has \(mine.count) records: \(mine.map { "attempt \($0.attempt) \($0.passed ? "PASS" : "FAIL \($0.failureCode ?? "")")" })")
                if id == failing {
                    #expect(mine.allSatisfy { !$0.passed && $0.failureCode == "DFU-WRITE-STALL" }, "round \(round): \(mine.map { $0.failureCode ?? "PASS" })")
                } else {
                    #expect(mine.allSatisfy { $0.passed }, "round \(round): \(id): \(mine.map { $0.failureCode ?? "PASS" })")
                }
            }
            #expect(Set(records.map(\.deviceID)) == Set(ids))
            let queued = try opened.items()
            for id in ids {
                #expect(queued.filter { $0.deviceID == id }.count == (id == failing ? 0 : 1), "round \(round): \(id) queued \(queued.filter { $0.deviceID == id }.count) times")
            }
            let integrity = try opened.integrityCheck()
            #expect(integrity == ["ok"], "round \(round)")
        }
        print("kill campaign: \(kills) SIGKILLs over \(round) rounds (\(finishedBeforeTheKill) starts ended before their kill), each followed by a restart on the same store; every device recorded and queued exactly once, integrity ok")
        #expect(kills >= 50)
    }
}
