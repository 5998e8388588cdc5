import FakeParticleCloud
import Foundation
import ImportQueue
import ParticleCloud
import StationStore
import Testing

/// The import queue against the fake cloud over real HTTP (libcurl on loopback).
@Suite(.serialized) struct SyncWorkerTests {
    @Test func batchesDrainTheQueue() async throws {
        let bench = try CloudBench(devices: 120)
        try bench.enqueueAll()
        let report = try await bench.worker(batch: 50).run()
        #expect(report.stop == .drained && report.imported == 120)
        #expect(bench.importCalls.map(\.sentIDs.count) == [50, 50, 20])
        #expect(bench.cloud.members(of: CloudBench.productID) == Set(bench.devices.map(\.deviceID)))
        #expect(try bench.store.counts() == [.done: 120])
        // SIMs were imported with the devices: active, in the product.
        #expect(bench.devices.allSatisfy { bench.cloud.sim($0.iccid!)?.state == .active && bench.cloud.sim($0.iccid!)?.productID == CloudBench.productID })
        // The store's record matches the fake's ledger: one attempt per import call.
        #expect(try bench.store.attempts().filter { $0.kind == "import-devices" }.count == bench.importCalls.count)
    }

    @Test func everyClassification() async throws {
        let bench = try CloudBench(devices: 5)
        let (fresh, present, foreign, wrongPlatform, protected) = (bench.devices[0], bench.devices[1], bench.devices[2], bench.manufacture(platformID: 23), bench.devices[4])
        bench.devices[3] = wrongPlatform
        bench.cloud.setOwner(foreign.deviceID, account: "someone-else")
        bench.cloud.setProtected(protected.deviceID)
        try bench.store.enqueue(present, importSIM: true)
        _ = try await bench.worker().run()  // present is in the product now
        try bench.enqueueAll()
        let report = try await bench.worker().run()
        #expect(report.stop == .drained)
        let items = Dictionary(uniqueKeysWithValues: try bench.store.items().map { ($0.deviceID, $0) })
        #expect(items[fresh.deviceID]?.state == .done)
        #expect(items[present.deviceID]?.state == .done && report.alreadyPresent == 0)  // done on the first run
        #expect(items[foreign.deviceID]?.state == .attention && items[foreign.deviceID]?.reason?.contains("another account") == true)
        #expect(items[wrongPlatform.deviceID]?.state == .attention && items[wrongPlatform.deviceID]?.reason?.contains("wrong platform") == true)
        #expect(items[protected.deviceID]?.state == .attention && items[protected.deviceID]?.reason?.contains("Device Protection") == true)
        #expect(try bench.store.history(foreign.deviceID).map(\.1) == ["nonmemberDeviceIds"])
        // Re-sending an imported device is harmless: the cloud says it exists.
        try bench.store.retry([fresh.deviceID], from: .done)
        let again = try await bench.worker().run()
        let history = try bench.store.history(fresh.deviceID).map(\.1)
        #expect(again.alreadyPresent == 1 && history == ["updated", "existing"])
    }

    @Test func anUnknownResultArrayNeedsAttention() {
        let result = ImportResult(arrays: ["updatedDeviceIds": ["a"], "quotaDeviceIds": ["b"]])
        #expect(result.outcome(for: "A") == .done(alreadyPresent: false))
        guard case .needsAttention(let array, let reason) = result.outcome(for: "b") else { Issue.record("b"); return }
        #expect(array == "quotaDeviceIds" && reason.contains("does not know"))
        #expect(result.outcome(for: "c") == .notMentioned)
    }

    @Test func invalidTokenStopsSyncing() async throws {
        let bench = try CloudBench(devices: 3)
        try bench.enqueueAll()
        let report = try await bench.worker(productToken: "wrongtoken0123456789abcdef").run()
        guard case .blocked(let error) = report.stop, case .tokenInvalid = error else { Issue.record("\(report.stop)"); return }
        #expect(error.description.contains("syncing stopped"))
        #expect(try bench.store.counts() == [.pending: 3])
        #expect(try bench.store.attempts().map(\.httpStatus) == [401])
        #expect(bench.importCalls.count == 1, "one request, then stop")
    }

    @Test func aTokenWithoutTheImportScopeIsARefusal() async throws {
        let bench = try CloudBench(devices: 2)
        bench.cloud.addToken("listonly0123456789abcdef0123", .init(name: "factory", scopes: ["devices:list"]))
        try bench.enqueueAll()
        let report = try await bench.worker(productToken: "listonly0123456789abcdef0123").run()
        #expect(report.stop == .drained && report.needAttention == 2)
        #expect(try bench.store.items().allSatisfy { $0.state == .attention && $0.reason?.contains("scopes") == true })
        #expect(try bench.store.attempts().map(\.httpStatus) == [403])
    }

    @Test func theFakesOwnRateLimitIsFeltAndWaitedOut() async throws {
        let bench = try CloudBench(devices: 6)
        bench.cloud.rateLimit = 2
        bench.cloud.retryAfterSeconds = 1
        try bench.enqueueAll()
        let worker = bench.worker(batch: 2)
        // Two requests a minute: the third is refused with Retry-After, and the worker waits
        // as told; the test stops it at the first wait rather than sleep a minute.
        let report = try await worker.run(until: { $0.requests >= 3 })
        #expect(report.stop == .stoppedByCaller && report.requests == 3 && report.imported == 4)
        #expect(bench.sleeps.all.first.map { $0 >= .seconds(1) } == true, "\(bench.sleeps.all)")
        #expect(bench.cloud.ledger.last?.status == 429)
    }

    @Test func rateLimitBacksOffAndHonoursRetryAfter() async throws {
        let bench = try CloudBench(devices: 4)
        try bench.enqueueAll()
        bench.cloud.inject(.status(429, retryAfter: 1))
        bench.cloud.inject(.status(429, retryAfter: nil))
        let started = Date()
        let report = try await bench.worker().run()
        #expect(report.stop == .drained && report.imported == 4)
        let waits = bench.sleeps.all
        #expect(waits.count == 2 && waits[0] >= .seconds(1), "\(waits)")
        #expect(waits[1] < .seconds(1), "without Retry-After: the exponential backoff, \(waits)")
        #expect(Date().timeIntervalSince(started) >= 1)
        #expect(try bench.store.attempts().map(\.outcome) == ["CLOUD-RATE-LIMITED", "CLOUD-RATE-LIMITED", "ok"])
    }

    @Test func serverErrorsAndDroppedConnectionsRetry() async throws {
        let bench = try CloudBench(devices: 6)
        try bench.enqueueAll()
        bench.cloud.inject(.status(503, retryAfter: nil), times: 2)
        bench.cloud.inject(.drop, times: 2)
        let report = try await bench.worker(batch: 3).run()
        #expect(report.stop == .drained && report.imported == 6)
        #expect(try bench.store.attempts().map(\.outcome) == ["CLOUD-SERVER-503", "CLOUD-SERVER-503", "CLOUD-NETWORK", "CLOUD-NETWORK", "ok", "ok"])
        // Backoff grows between consecutive failures.
        let waits = bench.sleeps.all
        #expect(waits.count == 4 && waits[3] > waits[0], "\(waits)")
    }

    @Test func offlineThenOnlineDrainsTheQueue() async throws {
        let bench = try CloudBench(devices: 5)
        try bench.enqueueAll()
        let port = bench.server.port
        bench.server.stop()  // the network is down: nothing listens
        let offline = try await bench.worker(giveUpAfter: .zero, baseURL: "http://127.0.0.1:\(port)").run()
        guard case .gaveUp(.transport) = offline.stop else { Issue.record("\(offline.stop)"); return }
        #expect(try bench.store.counts() == [.pending: 5])
        // Back online a moment later, while a worker is retrying.
        let restart = Task {
            try await Task.sleep(for: .milliseconds(400))
            bench.server = try bench.cloud.serve(port: port)
        }
        let report = try await bench.worker(baseURL: "http://127.0.0.1:\(port)").run()
        try await restart.value
        #expect(report.stop == .drained && report.imported == 5)
        #expect(try bench.store.attempts().contains { $0.outcome == "CLOUD-NETWORK" })
    }

    @Test func freePlanLimitTriggersTheFallback() async throws {
        let bench = try CloudBench(plan: .free, devices: 5)
        bench.cloud.freeDeviceLimit = 3
        try bench.enqueueAll()
        let report = try await bench.worker(policy: .onRefusal).run()
        #expect(report.stop == .drained && report.toTestAccount == 5)
        #expect(bench.cloud.members(of: CloudBench.productID).isEmpty)
        for device in bench.devices {
            let item = try bench.store.items().first { $0.deviceID == device.deviceID }
            #expect(item?.state == .pendingMigration && item?.destination == .testAccount)
            // Activated in the test account's sandbox, never in the product.
            let sim = bench.cloud.sim(device.iccid!)
            #expect(sim?.state == .active && sim?.productID == nil && sim?.owner == "test-account")
        }
        let kinds = Set(bench.cloud.ledger.filter { $0.account == "test-account" }.map { "\($0.method) \($0.path.split(separator: "/").prefix(2).joined(separator: "/"))" })
        #expect(kinds == ["PUT v1/sims", "POST v1/devices"])
        // Without a fallback the same refusal needs attention, with the cloud's words.
        let off = try CloudBench(plan: .free, devices: 2)
        off.cloud.freeDeviceLimit = 1
        try off.enqueueAll()
        _ = try await off.worker(policy: .off).run()
        #expect(try off.store.items().allSatisfy { $0.state == .attention && $0.reason?.contains("Device limit reached") == true })
    }

    @Test func aFreePlanProductIsCountedBeforeImporting() async throws {
        let bench = try CloudBench(plan: .free, devices: 5)
        bench.cloud.freeDeviceLimit = 3
        try bench.enqueueAll()
        let report = try await bench.worker(policy: .onRefusal, freeLimit: 3).run()
        #expect(report.stop == .drained && report.imported == 3 && report.toTestAccount == 2)
        #expect(bench.cloud.members(of: CloudBench.productID).count == 3)
        #expect(!bench.importCalls.contains { $0.status == 400 }, "no import was sent that the plan would refuse")
        #expect(try bench.store.items().filter { $0.destination == .testAccount }.allSatisfy { $0.reason?.contains("free plan") == true || $0.state == .pendingMigration })
    }

    @Test func aDeviceThatComesOnlineIsClaimedToTheTestAccount() async throws {
        let bench = try CloudBench(devices: 1)
        let device = bench.devices[0]
        try bench.store.enqueue(device, destination: .testAccount, importSIM: true)
        // A connectivity line: the worker activates the SIM; the device then connects.
        _ = try await bench.worker(policy: .always).run()
        #expect(bench.cloud.bringOnline(device.deviceID))
        try bench.store.retry([device.deviceID], from: .pendingMigration)
        _ = try await bench.worker(policy: .always).run()
        #expect(bench.cloud.owner(of: device.deviceID) == "test-account")
        #expect(try bench.store.items().first?.reason == "claimed to the test account: it connected")
    }

    @Test func namesAndShipmentGroupFollowTheImport() async throws {
        let bench = try CloudBench(devices: 2)
        try bench.enqueueAll()
        _ = try await bench.worker(nameFromSerial: true, group: "20261127_500").run()
        for device in bench.devices {
            #expect(bench.cloud.name(of: device.deviceID) == device.serial)
            #expect(bench.cloud.groups(of: device.deviceID) == ["20261127_500"])
        }
    }

    @Test func oneWorkerAtATime() async throws {
        let bench = try CloudBench(devices: 1)
        try bench.enqueueAll()
        #expect(try bench.store.acquireLease(holder: "other-process", for: 60))
        let report = try await bench.worker().run()
        #expect(report.stop == .leaseHeld(by: "other-process"))
        #expect(bench.importCalls.isEmpty)
    }
}

@Suite struct RetryPolicyTests {
    @Test func boundedExponentialWithJitterAndRetryAfter() {
        let policy = RetryPolicy(base: .seconds(1), maximum: .seconds(60))
        #expect(policy.delay(attempt: 1, jitter: 1) == .seconds(1))
        #expect(policy.delay(attempt: 1, jitter: 0) == .milliseconds(500))
        #expect(policy.delay(attempt: 4, jitter: 1) == .seconds(8))
        #expect(policy.delay(attempt: 40, jitter: 1) == .seconds(60), "bounded")
        #expect(policy.delay(attempt: 1, jitter: 0.5, retryAfter: .seconds(30)) == .seconds(30), "Retry-After wins when longer")
        #expect(policy.delay(attempt: 10, jitter: 1, retryAfter: .seconds(2)) == .seconds(60), "and not when shorter")
        #expect(policy.delay(attempt: 1, jitter: 1, retryAfter: .seconds(86_400)) == .seconds(3600), "an absurd Retry-After is capped")
    }
}

/// `station queue migrate`: the right path per SIM activation class.
@Suite(.serialized) struct MigrationTests {
    /// Devices handled under the test account (free-plan refusal), then the product has room.
    func handledUnderTheTestAccount(skus: [String?]) async throws -> (CloudBench, [DeviceRecord]) {
        let bench = try CloudBench(plan: .free)
        bench.cloud.freeDeviceLimit = 0
        var devices: [DeviceRecord] = []
        for sku in skus {
            var device = bench.manufacture()
            device.sku = sku
            devices.append(device)
            try bench.store.enqueue(device, importSIM: true)
        }
        _ = try await bench.worker(policy: .onRefusal).run()
        #expect(try bench.store.counts() == [.pendingMigration: skus.count])
        bench.cloud.freeDeviceLimit = 100
        return (bench, devices)
    }

    @Test(arguments: [
        ("BRN404X", Migration.Path.releaseThenImport), ("BRN402", .importWithoutRelease), ("BRN310", .importWithoutRelease),
        ("NOT-A-SKU", .importWithoutRelease),
    ])
    func pathPerSKU(sku: String, path: Migration.Path) {
        #expect(Migration.path(forSKU: sku) == path)
    }

    @Test func fastSIMsAreReleasedThenImportedSlowOnesNever() async throws {
        let (bench, devices) = try await handledUnderTheTestAccount(skus: ["BRN404X", "BRN402", nil])
        let migration = Migration(store: bench.store, product: bench.client(CloudBench.productToken), testAccount: bench.client(CloudBench.testToken),
                                  productKey: ProductKey(String(CloudBench.productID)), lineSKU: nil)
        let result = try await migration.run()
        #expect(result.migrated.count == 3 && result.failed.isEmpty)
        #expect(bench.cloud.members(of: CloudBench.productID) == Set(devices.map(\.deviceID)))
        let releases = bench.cloud.ledger.filter { $0.method == "DELETE" && $0.path.hasPrefix("/v1/sims/") }.map(\.path)
        #expect(releases == ["/v1/sims/\(devices[0].iccid!)"], "only the fast SIM is released")
        // The slow and the unknown SIM stayed active the whole time: activated once, in the sandbox.
        for device in devices.dropFirst() {
            let sim = bench.cloud.sim(device.iccid!)
            #expect(sim?.state == .active && sim?.activations == 1 && sim?.productID == CloudBench.productID)
        }
        #expect(bench.cloud.sim(devices[0].iccid!)?.activations == 2, "released, then activated by the product import")
        // No product SIM activation before the import: the only product SIM calls are the imports.
        #expect(!bench.cloud.ledger.contains { $0.method == "PUT" && $0.path.contains("/products/") })
        #expect(try bench.store.counts() == [.done: 3])
    }
}
