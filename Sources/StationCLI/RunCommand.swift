import ArgumentParser
import Curl
import Foundation
import ImportQueue
import LibUSB
import ParticleCloud
import ParticleDevices
import Station
import StationAgent
import StationConfig
import StationStore
import USBBench

/// `station run --config FILE`: the station at the bench.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the bench: guard, identify, pair, flash, verify, record and queue every device plugged in.",
        discussion: """
            Refuses to start when the manifest's files are missing, altered or inconsistent, or it \
            is not the station's product and platform. Every device arriving in normal mode is put \
            in listening mode first. Scans come from the configured scanner (a keyboard-wedge \
            scanner types into this terminal). Commands, typed and ended with Enter: `r SLOT` re-runs \
            the failed device in SLOT, `q` quits after the devices being written finish. The import \
            queue is synced in the background whenever the cloud answers.
            """)

    @Option(name: .long, help: "The station config (stations/NAME.toml).", completion: .file()) var config: String
    @Option(name: .long, help: "The station store (default: the config's [store] path).") var store: String?
    @Option(name: .customLong("operator"), help: "The operator's name (otherwise asked for when the config wants sign-in).") var operatorName: String?
    @Flag(name: .long, help: "One line per change instead of the live screen.") var plain = false
    @Option(name: .long, help: "Quit once this many devices have finished (passed or failed): for scripted runs.") var stopAfter: Int?
    @Flag(name: .long, help: "Do not sync the import queue (the devices stay queued).") var noSync = false

    func run() async throws {
        let station = try ConfigFiles.stationConfig(config)
        let bench: BenchConfig
        do {
            bench = try BenchConfig.parse(try ConfigFiles.text(config), file: config, station: station)
        } catch let error as ConfigFileError {
            print("FAIL: \(error)")
            throw StationExitCode.dataError.exitCode
        }
        // Every product's manifest: present, unaltered, consistent, and that product's.
        var lines: [(platform: String, productID: Int?, path: String)] = []
        if case .id(let id) = station.product.product { lines.append((station.product.platform.name, id, bench.manifest)) }
        else { lines.append((station.product.platform.name, nil, bench.manifest)) }
        for extra in bench.extraProducts { lines.append((extra.platform, extra.productID, extra.manifest)) }
        var manifests: [String: FirmwareManifest] = [:]
        for line in lines {
            let path = line.path.hasPrefix("/") ? line.path : URL(fileURLWithPath: config).deletingLastPathComponent().appendingPathComponent(line.path).path
            do {
                let manifest = try ManifestVerifyCommand.load(path)
                try manifest.check(stationProductID: line.productID ?? manifest.file.productID, platforms: [line.platform])
                manifests[line.platform] = manifest
            } catch let error as ManifestError {
                print("FAIL [\(error.code)]: \(path): \(error.description). The station does not start with this manifest.")
                throw StationExitCode.dataError.exitCode
            } catch let error as ConfigFileError {
                print("FAIL: \(error). The station does not start without its manifest.")
                throw StationExitCode.dataError.exitCode
            }
        }

        // Scans and commands.
        let stdin = ScannerInput.standardInput()
        var input = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        var scannerLines: [AsyncStream<String>] = []
        for scanner in bench.scanners {
            do {
                switch scanner {
                case .serial(let path, let vendorID, let productID, let baud):
                    let opened = try ScannerInput.serial(path: path, vendorID: vendorID, productID: productID, baud: baud)
                    scannerLines.append(opened.lines)
                    print("scanner: \(opened.name)")
                case .evdev(let vendorID, let productID):
                    let opened = try ScannerInput.evdev(vendorID: vendorID, productID: productID)
                    scannerLines.append(opened.lines)
                    print("scanner: \(opened.name) (grabbed)")
                case .keyboardWedge, .none:
                    break
                }
            } catch {
                print("FAIL [SCANNER]: \(error)")
                throw StationExitCode.unavailable.exitCode
            }
        }
        var operatorName = self.operatorName
        if bench.operatorSignIn && operatorName == nil {
            print("operator: ", terminator: "")
            var lines = stdin.makeAsyncIterator()
            operatorName = await lines.next()
            input = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
            let continuation = input.continuation
            Task { while let line = await lines.next() { continuation.yield(line) }; continuation.finish() }
        } else {
            let continuation = input.continuation
            Task { for await line in stdin { continuation.yield(line) }; continuation.finish() }
        }
        if bench.operatorSignIn {
            guard let name = operatorName, !name.isEmpty, bench.operators.isEmpty || bench.operators.contains(name) else {
                print("FAIL: '\(operatorName ?? "")' may not sign in at this station; the operators are \(bench.operators.joined(separator: ", ")).")
                throw StationExitCode.dataError.exitCode
            }
        }

        let storePath = store ?? station.storeLocation(environment: ProcessInfo.processInfo.environment)
        let opened: StationStore
        do { opened = try StationStore(path: storePath) } catch {
            print("FAIL \(error)")
            throw StationExitCode.unavailable.exitCode
        }
        let bus: LibUSBBus
        let link: USBBenchLink
        let events: AsyncStream<HardwareEvent>
        do {
            bus = try LibUSBBus(logLevel: .none)
            link = USBBenchLink(bus: bus)
            events = try link.events()
        } catch {
            print("FAIL: \(error)")
            throw StationExitCode.unavailable.exitCode
        }
        let products = Self.products(station: station, bench: bench)
        // A connectivity line activates each device's SIM under the test account (its queued
        // import, synced now), then watches the test account for it coming online.
        var connectivity: ConnectivityTest?
        if bench.connectivityTest {
            let credentials = try ConfigFiles.credentials(for: station, configPath: config)
            guard let token = credentials.testAccountToken else {
                print("FAIL: a connectivity line needs test_account_token in the credentials file: the station watches the test account for each device coming online.")
                throw StationExitCode.dataError.exitCode
            }
            let client = ParticleCloudClient(transport: CurlHTTPTransport(), baseURL: station.cloud.apiBaseURL.absoluteString, token: token)
            let configPath = config
            let line = TestAccountLine(store: opened, client: client) {
                await Self.syncOnce(station: station, configPath: configPath, store: opened, products: products, quiet: true)
            }
            connectivity = ConnectivityTest(link: link, activate: { id in try await line.activate(id) }, isOnline: { id in try await line.isOnline(id) })
        }
        var finalStates: [String: NoCloudPolicy.FinalState] = [:]
        for (platform, state) in bench.finalStates { finalStates[platform] = state == .dfu ? .dfu : .listening }
        let policy = BenchPolicy(
            pairing: bench.pairing == .imei ? .imei : bench.pairing == .none ? .none : .serialNumber, scanRequired: bench.scanRequired,
            finalStates: finalStates, defaultFinalState: bench.finalState == .dfu ? .dfu : .listening, connectivityTest: bench.connectivityTest)
        let driver = BenchDriver(
            stationID: station.station.id, policy: policy,
            provisioner: Provisioner(link: link, manifests: manifests, clock: ContinuousClock()),
            noCloud: NoCloudPolicy(connectivityTest: bench.connectivityTest), link: link,
            log: StoreLog(store: opened, stationID: station.station.id, line: station.station.line, operatorName: operatorName,
                          destination: station.fallback.policy == .always ? .testAccount : .product),
            clock: ContinuousClock(), connectivity: connectivity, slotName: { bench.slotName(port: $0) })
        await driver.restore()
        let feed = Task { for await event in events { await driver.hardware(event) } }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await driver.tick()
            }
        }
        for lines in scannerLines { Task { for await line in lines { await driver.scanned(line) } } }
        let title = "station \(station.station.id)" + (station.station.line.map { ", \($0)" } ?? "") + (operatorName.map { ", operator \($0)" } ?? "")
        say("bench ready: \(manifests.keys.sorted().joined(separator: ", ")); every normal-mode arrival is put in listening mode first")
        let screen = Task { await showBench(driver.updates(), title: title, plain: plain || isatty(STDOUT_FILENO) == 0) }
        let sync = noSync ? nil : Task { await Self.syncForever(station: station, configPath: config, store: opened, products: products) }

        // Commands (and keyboard-wedge scans) until quit, or until enough devices finished.
        let quit = QuitFlag()
        _ = Task {
            // The end of standard input (a script, a closed terminal) is not a quit: the
            // bench keeps running until `q`, a signal or --stop-after.
            for await line in input.stream {
                let words = line.split(separator: " ")
                if line == "q" || line == "quit" {
                    quit.set()
                    return
                }
                if words.count == 2, words[0] == "r" || words[0] == "retry" {
                    let slot = String(words[1])
                    await driver.retry(port: bench.slots?.first { $0.name == slot }?.port ?? slot)
                    continue
                }
                if bench.scanners.contains(.keyboardWedge) { await driver.scanned(line) }
            }
        }
        while true {
            if quit.isSet { break }
            if let stopAfter, await driver.jobs.filter({ !$0.step.isActive }).count >= stopAfter { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        say("quitting: waiting for the devices being written to finish")
        await driver.drain()
        feed.cancel()
        ticker.cancel()
        sync?.cancel()
        screen.cancel()
        await screen.value
        if !noSync {
            // One last pass, so what passed is in the products when the cloud answers.
            await Self.syncOnce(station: station, configPath: config, store: opened, products: products, quiet: false)
        }
        let jobs = await driver.jobs
        say("done: \(jobs.filter { $0.step == .passed }.count) passed, \(jobs.filter { $0.step == .failed }.count) failed; store \(opened.path)")
        withExtendedLifetime(bus) {}
    }

    /// The bench's products: the station's own, and one per extra platform.
    static func products(station: StationConfig, bench: BenchConfig) -> [(key: ProductKey, platformID: Int?)] {
        let catalog = PlatformCatalog.bundled
        let filter = bench.extraProducts.isEmpty ? nil : Int(station.product.platform.id.rawValue)
        return [(ProductKey(station.product.product.description), filter)]
            + bench.extraProducts.map { (ProductKey(String($0.productID)), catalog.platform(named: $0.platform).map { Int($0.id.rawValue) }) }
    }

    /// Syncs the import queue whenever the cloud answers, quietly.
    static func syncForever(station: StationConfig, configPath: String, store: StationStore, products: [(key: ProductKey, platformID: Int?)]) async {
        while !Task.isCancelled {
            await syncOnce(station: station, configPath: configPath, store: store, products: products, quiet: true)
            try? await Task.sleep(for: .seconds(3))
        }
    }

    /// One import pass at a time in this process: the background sync, a connectivity
    /// test's activation and the last pass on quit take turns (so no item is sent twice and
    /// the worker's backoff holds).
    static let syncGate = SyncGate()

    static func syncOnce(station: StationConfig, configPath: String, store: StationStore, products: [(key: ProductKey, platformID: Int?)], quiet: Bool) async {
        await syncGate.run { await syncPass(station: station, configPath: configPath, store: store, products: products, quiet: quiet) }
    }

    static func syncPass(station: StationConfig, configPath: String, store: StationStore, products: [(key: ProductKey, platformID: Int?)], quiet: Bool) async {
        guard let credentials = try? ConfigFiles.credentials(for: station, configPath: configPath) else {
            if !quiet { say("note: no usable credentials file: passed devices stay queued (`station queue sync` later)") }
            return
        }
        let transport = CurlHTTPTransport()
        let base = station.cloud.apiBaseURL.absoluteString
        for product in products {
            let worker = SyncWorker(
                store: store, product: ParticleCloudClient(transport: transport, baseURL: base, token: credentials.productToken),
                testAccount: credentials.testAccountToken.map { ParticleCloudClient(transport: transport, baseURL: base, token: $0) },
                settings: .init(product: product.key, batchSize: station.cloud.batchSize, importSIMs: station.cloud.importSIMs,
                                nameFromSerial: station.cloud.nameFromSerial, shipmentGroup: station.cloud.shipmentGroup, fallback: station.fallback,
                                giveUpAfter: .seconds(10), freeDeviceLimit: station.product.freePlan ? StationConfig.freePlanDeviceLimit : nil,
                                platformID: product.platformID))
            let report = try? await worker.run()
            if !quiet, let report { say("import into product \(product.key): \(report.imported) imported, \(report.needAttention) need attention") }
        }
    }
}

/// Runs bodies one after another, in the order they came.
actor SyncGate {
    private var last: Task<Void, Never>?

    func run(_ body: @escaping @Sendable () async -> Void) async {
        let previous = last
        let task = Task {
            await previous?.value
            await body()
        }
        last = task
        await task.value
    }
}

/// Set once when the technician quits (or standard input ends).
final class QuitFlag: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// The live screen on a terminal (at most ten frames a second, the last one always), else
/// one line per change: what `station run` and `station demo` show.
func showBench(_ updates: AsyncStream<BenchView>, title: String, plain: Bool) async {
    let screen = BenchScreen(title: title)
    var log = PlainBenchLog()
    var last = ContinuousClock.now - .seconds(1)
    var latest: BenchView?
    if !plain { FileHandle.standardOutput.write(Data("\u{1B}[2J".utf8)) }
    for await view in updates {
        latest = view
        if plain {
            for line in log.lines(view) { say(line) }
        } else if last.duration(to: .now) > .milliseconds(100) {
            last = .now
            FileHandle.standardOutput.write(Data(screen.frame(view).utf8))
        }
    }
    if !plain, let latest { FileHandle.standardOutput.write(Data(screen.frame(latest).utf8)) }
}
