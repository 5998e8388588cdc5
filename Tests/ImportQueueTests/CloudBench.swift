import Curl
import FakeParticleCloud
import Foundation
import ImportQueue
import ParticleCloud
import ParticleDevices
import Seams
import StationConfig
import StationStore

/// A fake cloud on loopback, a fresh store, and clients speaking real HTTP through libcurl.
final class CloudBench: @unchecked Sendable {
    static let productToken = "prodtoken0123456789abcdef0123456789"
    static let testToken = "testtoken0123456789abcdef0123456789"
    static let productID = 12345

    let cloud = FakeParticleCloud()
    var server: LoopbackHTTPServer
    let store: StationStore
    let storePath: String
    var devices: [DeviceRecord] = []
    /// Every wait the worker asked for.
    let sleeps = Recorder<Duration>()

    init(plan: FakeParticleCloud.Plan = .paid, devices count: Int = 0, platformID: Int = 13) throws {
        cloud.addProduct(.init(id: Self.productID, slug: "bench-product", platformID: platformID, plan: plan, owner: "factory"))
        cloud.addToken(Self.productToken, .init(name: "factory"))
        cloud.addToken(Self.testToken, .init(name: "test-account"))
        server = try cloud.serve()
        storePath = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)/station.sqlite").path
        store = try StationStore(path: storePath)
        for _ in 0..<count { devices.append(manufacture(platformID: platformID)) }
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: storePath).deletingLastPathComponent().path)
    }

    /// A new device in the fake's registry (random, valid identifiers).
    func manufacture(platformID: Int = 13) -> DeviceRecord {
        let hex = (0..<20).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
        let digits = (0..<15).map { _ in String(Int.random(in: 0...9)) }.joined()
        let serial = "P0" + (0..<13).map { _ in String("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789".randomElement()!) }.joined()
        let device = DeviceRecord(deviceID: "e00f" + hex, serial: serial, iccid: Luhn.completing("8901" + digits), platformID: platformID, stationID: "bench-1")
        cloud.manufacture(.init(deviceID: device.deviceID, platformID: platformID, serial: serial, iccid: device.iccid))
        return device
    }

    func enqueueAll(importSIM: Bool = true) throws {
        for device in devices { try store.enqueue(device, importSIM: importSIM) }
    }

    func client(_ token: String, baseURL: String? = nil) -> ParticleCloudClient {
        ParticleCloudClient(transport: CurlHTTPTransport(), baseURL: baseURL ?? server.baseURL, token: Token(token))
    }

    func worker(batch: Int = 50, policy: StationConfig.Fallback.Policy = .off, product: Bool = true, test: Bool = true, productToken: String = productToken,
                giveUpAfter: Duration? = .seconds(20), nameFromSerial: Bool = false, group: String? = nil, baseURL: String? = nil,
                freeLimit: Int? = nil) -> SyncWorker {
        var worker = SyncWorker(
            store: store, product: product ? client(productToken, baseURL: baseURL) : nil, testAccount: test ? client(Self.testToken, baseURL: baseURL) : nil,
            settings: .init(product: ProductKey(String(Self.productID)), batchSize: batch, importSIMs: true, nameFromSerial: nameFromSerial, shipmentGroup: group,
                            fallback: .init(policy: policy), retry: RetryPolicy(base: .milliseconds(20), maximum: .milliseconds(200)), giveUpAfter: giveUpAfter,
                            freeDeviceLimit: freeLimit),
            holder: "test-\(UUID().uuidString)")
        let sleeps = self.sleeps
        worker.sleep = { duration in
            sleeps.append(duration)
            try? await Task.sleep(for: min(duration, .seconds(2)))
        }
        return worker
    }

    /// Import calls in the fake's ledger.
    var importCalls: [FakeParticleCloud.Call] { cloud.ledger.filter { $0.method == "POST" && $0.path.hasSuffix("/devices") && $0.path.contains("/products/") } }
}

final class Recorder<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ item: T) { lock.withLock { items.append(item) } }
    var all: [T] { lock.withLock { items } }
}
