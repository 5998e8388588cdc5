import ArgumentParser
import FakeParticleCloud
import Foundation
import ParticleDevices
import StationStore
#if canImport(Glibc)
import Glibc
#endif

/// `station benchmark queue`: drains queues of 1,000 and 10,000 devices into the fake cloud
/// (paid-plan product) with a child `station queue sync` per run, and reports each run's
/// requests, wall time and the child's peak resident memory.
struct QueueBenchmarkCommand: AsyncParsableCommand, JSONOutputCommand {
    var printsJSON: Bool { json }
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Time draining the import queue into the fake cloud, with peak memory.",
        discussion: "Each run: a fresh fake cloud on loopback and a fresh store holding N queued devices, then one `station queue sync` child process; its peak RSS comes from wait4.")

    @Option(name: .long, help: "Device counts, one run each.") var devices: [Int] = [1000, 10000]
    @Option(name: .long, help: "Devices per import request.") var batchSize = 100
    @Flag(name: .long, help: "Print JSON only.") var json = false

    struct Run: Codable {
        var devices: Int
        var requests: Int
        var seconds: Double
        var peakRSSBytes: Int
    }

    func run() async throws {
        var runs: [Run] = []
        for count in devices {
            runs.append(try Self.measure(count: count, batchSize: batchSize))
            if !json, let run = runs.last {
                print("\(run.devices) devices: \(run.requests) import requests, \(String(format: "%.2f", run.seconds)) s, peak RSS \(run.peakRSSBytes / 1024) KiB")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(runs), as: UTF8.self))
    }

    static func measure(count: Int, batchSize: Int) throws -> Run {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-queue-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cloud = FakeParticleCloud()
        cloud.addProduct(.init(id: 1, slug: "bench", platformID: 13, plan: .paid, owner: "factory"))
        let token = (0..<40).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
        cloud.addToken(token, .init(name: "factory"))
        let server = try cloud.serve()
        defer { server.stop() }
        let store = try StationStore(path: folder.appendingPathComponent("station.sqlite").path)
        var generator = SystemRandomNumberGenerator()
        for index in 0..<count {
            let id = String(format: "e00f%020x", UInt64(index) &+ (UInt64.random(in: 0..<(1 << 40), using: &generator) << 20))
            cloud.manufacture(.init(deviceID: id, platformID: 13))
            try store.enqueue(DeviceRecord(deviceID: id, platformID: 13, stationID: "bench"), importSIM: false)
        }
        let tokenFile = folder.appendingPathComponent("token").path
        _ = FileManager.default.createFile(atPath: tokenFile, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        try """
            [station]
            id = "bench"
            [product]
            id = 1
            platform = "boron"
            [cloud]
            api_base_url = "\(server.baseURL)"
            credentials_file = "unused.toml"
            batch_size = \(batchSize)
            [store]
            path = "\(store.path)"
            """.write(to: folder.appendingPathComponent("station.toml"), atomically: true, encoding: .utf8)
        let arguments = [CommandLine.arguments[0], "queue", "sync", "--config", folder.appendingPathComponent("station.toml").path, "--token-file", tokenFile]
        let started = Date()
        let (status, peak) = try spawnAndMeasure(arguments)
        let seconds = Date().timeIntervalSince(started)
        guard status == 0 else { throw ValidationError("the sync child exited \(status)") }
        let requests = cloud.ledger.filter { $0.method == "POST" && $0.path.hasSuffix("/devices") }.count
        guard cloud.members(of: 1).count == count else { throw ValidationError("only \(cloud.members(of: 1).count) of \(count) devices reached the product") }
        return Run(devices: count, requests: requests, seconds: seconds, peakRSSBytes: peak)
    }

    /// posix_spawn, then wait4 for this child's own peak RSS (ru_maxrss, KiB on Linux).
    static func spawnAndMeasure(_ arguments: [String]) throws -> (Int32, Int) {
        var pid: pid_t = 0
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard spawned == 0 else { throw ValidationError("could not start \(arguments[0]): error \(spawned)") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (exit, usage.ru_maxrss * 1024)
    }
}
