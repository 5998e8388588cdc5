import Foundation
import ImportQueue
import ParticleCloud
import ParticleDevices
import Seams
import Station
import StationConfig
import StationStore

/// `station run` once its inputs are open: the bench driver over the link, the store and the
/// manifests; the hardware events, scanner lines and typed lines fed to it; a tick a second;
/// the import queue synced in the background (a problem pauses it behind one banner); the
/// connectivity line's test when the line has one. It ends on `q`, or once `stopAfter`
/// devices have finished, after the devices being written finish and one last sync pass.
/// Everything it has to say comes as one stream of events, which the command line prints.
public struct BenchSession<C: Clock<Duration>>: Sendable {
    /// What the session is told to run with: the parts `station run` opened (config, store,
    /// manifests, the link and its events, scanners, the terminal's lines).
    public struct Setup: Sendable {
        public var station: StationConfig
        public var bench: BenchConfig
        /// The config file's path (the banner for paused imports names it).
        public var configPath: String
        public var manifests: [String: FirmwareManifest]
        public var store: StationStore
        public var link: any DeviceLink
        public var hardware: AsyncStream<HardwareEvent>
        /// Each scanner of its own (serial, evdev): its lines and its affixes.
        public var scanners: [(lines: AsyncStream<String>, affixes: BenchConfig.Affixes)]
        /// Lines typed at the station's terminal (a keyboard-wedge scanner types there too).
        public var typed: AsyncStream<String>
        public var operatorName: String?
        /// Sync the import queue (false: `--no-sync`, the devices stay queued).
        public var sync: Bool
        public var stopAfter: Int?
        public var transport: any HTTPTransport
        /// The credentials, read at each pass (a fixed file is picked up without a restart).
        public var credentials: @Sendable () -> Result<Credentials, any Error>
        /// One pass of the line replication (`[line]`): ships what the line database lacks;
        /// nil when it is caught up, else what stopped it. Nil: no line database.
        public var lineSync: (@Sendable () async -> String?)? = nil

        public init(station: StationConfig, bench: BenchConfig, configPath: String, manifests: [String: FirmwareManifest], store: StationStore,
                    link: any DeviceLink, hardware: AsyncStream<HardwareEvent>, scanners: [(lines: AsyncStream<String>, affixes: BenchConfig.Affixes)],
                    typed: AsyncStream<String>, operatorName: String?, sync: Bool, stopAfter: Int?, transport: any HTTPTransport,
                    credentials: @escaping @Sendable () -> Result<Credentials, any Error>) {
            self.station = station
            self.bench = bench
            self.configPath = configPath
            self.manifests = manifests
            self.store = store
            self.link = link
            self.hardware = hardware
            self.scanners = scanners
            self.typed = typed
            self.operatorName = operatorName
            self.sync = sync
            self.stopAfter = stopAfter
            self.transport = transport
            self.credentials = credentials
        }
    }

    public enum Event: Sendable {
        /// The bench is ready (a line to print once).
        case ready(String)
        /// The bench's view changed.
        case view(BenchView)
        /// The line replication changed state (caught up, or what stops it): a line to print.
        case line(String)
        /// The run is over: the last view, the summary lines below it, and the standing
        /// banner (paused imports) a final screen keeps.
        case finished(BenchView, summary: [String], banner: String?)
    }

    /// Why a session does not start.
    public struct SetupError: Error, Sendable, CustomStringConvertible {
        public let code: String
        public let description: String
    }

    public let setup: Setup
    public let clock: C

    public init(_ setup: Setup, clock: C) {
        self.setup = setup
        self.clock = clock
    }

    /// What the station says while its line database cannot take its records.
    public static func lineBehind(_ problem: String, config: String) -> String {
        "line database behind: \(problem). Provisioning goes on; the records wait in the store and ship once it answers (`station line sync --config \(config)` ships them now)."
    }

    /// The banner for paused imports.
    public static func paused(_ reason: String, config: String) -> String {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        return "imports paused: \(reason)\(reason.hasSuffix(".") ? "" : ".") Devices still provision; their imports wait in the queue (`station queue sync --config \(config)` once fixed)."
    }

    /// The bench's products: the station's own, and one per extra platform.
    public static func products(station: StationConfig, bench: BenchConfig) -> [BenchImports.Product] {
        let catalog = PlatformCatalog.bundled
        let filter = bench.extraProducts.isEmpty ? nil : Int(station.product.platform.id.rawValue)
        return [BenchImports.Product(key: ProductKey(station.product.product.description), platformID: filter)]
            + bench.extraProducts.map { BenchImports.Product(key: ProductKey(String($0.productID)), platformID: catalog.platform(named: $0.platform).map { Int($0.id.rawValue) }) }
    }

    /// Starts the session. Throws before anything runs when a connectivity line has no
    /// test-account token.
    public func run() throws(SetupError) -> AsyncStream<Event> {
        let setup = self.setup, clock = self.clock
        let station = setup.station, bench = setup.bench
        // Credentials, once: a problem pauses the imports (one banner); the bench still
        // provisions and the imports wait in the queue.
        var importsPaused: String?
        if setup.sync, case .failure(let problem) = setup.credentials() { importsPaused = Self.paused("\(problem)", config: setup.configPath) }
        let imports = BenchImports(store: setup.store, station: station, products: Self.products(station: station, bench: bench), transport: setup.transport,
                                   credentials: setup.credentials, clock: clock)
        // A connectivity line activates each device's SIM under the test account (its queued
        // import, synced now), then watches the test account for it coming online.
        var connectivity: ConnectivityTest?
        if bench.connectivityTest {
            let credentials: Credentials
            switch setup.credentials() {
            case .success(let read): credentials = read
            case .failure(let problem): throw SetupError(code: "CREDENTIALS-INVALID", description: "\(problem)")
            }
            guard let token = credentials.testAccountToken else {
                throw SetupError(code: "CREDENTIALS-INVALID",
                                 description: "a connectivity line needs test_account_token in the credentials file: the station watches the test account for each device coming online")
            }
            let client = ParticleCloudClient(transport: setup.transport, baseURL: station.cloud.apiBaseURL.absoluteString, token: token)
            let line = TestAccountLine(store: setup.store, client: client, clock: clock) { await imports.pass(quiet: true) }
            connectivity = ConnectivityTest(link: setup.link, clock: clock, activate: { id in try await line.activate(id) }, isOnline: { id in try await line.isOnline(id) })
        }
        let policy = BenchPolicy(pairing: bench.pairing, scanRequired: bench.scanRequired, finalStates: bench.finalStates, defaultFinalState: bench.finalState,
                                 connectivityTest: bench.connectivityTest, allowServiceMode: bench.allowServiceMode)
        // A line that pairs by nothing still reads a scanned sticker as a serial number first.
        let pairing: PairingKey = bench.pairing == .imei ? .imei : .serialNumber
        let wedge = bench.affixes(of: .keyboardWedge)
        let driver = BenchDriver(
            policy: policy,
            provisioner: Provisioner(link: setup.link, manifests: setup.manifests, clock: clock, allowServiceMode: bench.allowServiceMode),
            noCloud: NoCloudPolicy(connectivityTest: bench.connectivityTest), link: setup.link,
            log: StoreLog(store: setup.store, stationID: station.station.id, line: station.station.line, operatorName: setup.operatorName,
                          destination: station.fallback.policy == .always ? .testAccount : .product),
            clock: clock, connectivity: connectivity, slots: bench.slots ?? [],
            scanSettings: ScanSettings(preferred: pairing, prefix: wedge.prefix, suffix: wedge.suffix))
        let (events, out) = AsyncStream<Event>.makeStream(bufferingPolicy: .unbounded)
        let worker = Task {
            await Self.drive(driver, setup: setup, imports: imports, importsPaused: importsPaused, clock: clock, out: out)
            out.finish()
        }
        out.onTermination = { _ in worker.cancel() }
        return events
    }

    static func drive(_ driver: BenchDriver<C>, setup: Setup, imports: BenchImports, importsPaused: String?, clock: C,
                      out: AsyncStream<Event>.Continuation) async {
        await driver.restore()
        await driver.setBanner(importsPaused)
        let feed = Task { for await event in setup.hardware { await driver.hardware(event) } }
        let ticker = Task {
            while !Task.isCancelled {
                try? await clock.sleep(for: .seconds(1))
                await driver.tick()
            }
        }
        var scanners: [Task<Void, Never>] = []
        for (lines, affixes) in setup.scanners {
            scanners.append(Task { for await line in lines { await driver.scanned(line, prefix: affixes.prefix, suffix: affixes.suffix) } })
        }
        out.yield(.ready("bench ready: \(setup.manifests.keys.sorted().joined(separator: ", ")); every normal-mode arrival is put in listening mode first"))
        // The first view (with any standing banner) goes out before any input is handled.
        var updates = await driver.updates().makeAsyncIterator()
        if let first = await updates.next() { out.yield(.view(first)) }
        let views = Task {
            while let view = await updates.next() { out.yield(.view(view)) }
        }
        let paused = PausedImports(importsPaused)
        let configPath = setup.configPath
        let sync = !setup.sync || importsPaused != nil ? nil : Task {
            await imports.forever(banner: { text, blocked in
                if blocked { await paused.set(text) }
                await driver.setBanner(text)
            }, paused: { Self.paused($0, config: configPath) })
        }
        // Store and forward: the line database gets what the store records, in the background,
        // every few seconds; the bench never waits on it. Each change of state is said once.
        let lineSync = setup.lineSync
        let line = lineSync.map { pass in
            Task {
                var last: String?? = .none
                while !Task.isCancelled {
                    let problem = await pass()
                    if last != .some(problem) {
                        out.yield(.line(problem.map { Self.lineBehind($0, config: configPath) } ?? "line database: caught up"))
                        last = .some(problem)
                    }
                    try? await clock.sleep(for: .seconds(5))
                }
            }
        }
        // Commands (and keyboard-wedge scans) until quit, or until enough devices finished.
        await withTaskGroup(of: Void.self) { group in
            let wedge = setup.bench.scanners.contains(.keyboardWedge)
            group.addTask {
                for await line in setup.typed where await driver.typed(line, stickers: wedge) { return }
                // The end of standard input (a script, a closed terminal) is not a quit: the
                // bench keeps running until `q`, a signal or `stopAfter`.
                while !Task.isCancelled { try? await clock.sleep(for: .seconds(3600)) }
            }
            if let stopAfter = setup.stopAfter {
                group.addTask {
                    for await _ in await driver.updates() where await driver.jobs.filter({ !$0.step.isActive }).count >= stopAfter { return }
                }
            }
            await group.next()
            group.cancelAll()
        }
        await driver.setBanner("quitting: waiting for the devices being written to finish")
        await driver.drain()
        feed.cancel()
        ticker.cancel()
        sync?.cancel()
        for scanner in scanners { scanner.cancel() }
        var summary: [String] = []
        let pausedNow = await paused.text
        if setup.sync && pausedNow == nil {
            // One last pass, so what passed is in the products when the cloud answers.
            summary += await imports.pass(quiet: false).lines
        }
        line?.cancel()
        if let lineSync {
            // One last pass, so what the run recorded is on the line when it can be.
            summary.append(await lineSync().map { Self.lineBehind($0, config: configPath) } ?? "line database: every record shipped")
        }
        let jobs = await driver.jobs
        let protected = jobs.filter { $0.step == .failed && $0.failure?.isProtectedUnit == true }.count
        let failed = jobs.filter { $0.step == .failed }.count - protected
        summary.append("done: \(jobs.filter { $0.step == .passed }.count) passed, \(failed) failed"
                       + (protected > 0 ? ", \(protected) protected (to the online rework bench)" : "") + "; store \(setup.store.path)")
        let last = await driver.view
        views.cancel()
        await views.value
        out.yield(.finished(last, summary: summary, banner: pausedNow))
    }
}

/// Why the imports are paused for the rest of the run (credentials, or a refusal retrying
/// cannot fix), once known.
actor PausedImports {
    var text: String?
    init(_ text: String?) { self.text = text }
    func set(_ text: String?) { self.text = text }
}
