import ParticleCloud
import Seams
import StationConfig
import StationStore

/// The import side of a running bench (`station run`): passes of the sync worker over each of
/// the bench's products, one pass at a time in the order they were asked for (the background
/// sync, a connectivity test's activation and the last pass on quit take turns, so no item is
/// sent twice and the worker's backoff holds), and the background loop that syncs whenever
/// the cloud answers.
public actor BenchImports {
    /// A product the bench imports into; `platformID` filters the queue when a bench serves
    /// one product per platform.
    public struct Product: Sendable {
        public var key: ProductKey
        public var platformID: Int?
        public init(key: ProductKey, platformID: Int?) {
            self.key = key
            self.platformID = platformID
        }
    }

    /// What one pass came to.
    public struct Outcome: Sendable {
        /// Why the imports cannot go on until someone fixes something (token, product).
        public var blocked: String?
        /// Why they wait (the cloud did not answer).
        public var waiting: String?
        /// One line per product (a pass that is not quiet).
        public var lines: [String] = []
    }

    let store: StationStore
    let station: StationConfig
    let products: [Product]
    let transport: any HTTPTransport
    /// Read before each pass: a fixed credentials file takes effect without a restart.
    let credentials: @Sendable () -> Result<Credentials, any Error>
    let clock: any Clock<Duration>
    private var last: Task<Void, Never>?

    public init(store: StationStore, station: StationConfig, products: [Product], transport: any HTTPTransport,
                credentials: @escaping @Sendable () -> Result<Credentials, any Error>, clock: any Clock<Duration> = ContinuousClock()) {
        self.store = store
        self.station = station
        self.products = products
        self.transport = transport
        self.credentials = credentials
        self.clock = clock
    }

    /// One pass, after the passes asked for before it.
    @discardableResult
    public func pass(quiet: Bool) async -> Outcome {
        let previous = last
        let task = Task {
            await previous?.value
            return await self.run(quiet: quiet)
        }
        last = Task { _ = await task.value }
        return await task.value
    }

    /// Passes every 3 s until cancelled, quietly. A failure retrying cannot fix (the token
    /// refused) stops the loop with one banner (`blocked` true); a cloud that does not answer
    /// is a banner until it does (nil clears it).
    public func forever(banner: @escaping @Sendable (_ text: String?, _ blocked: Bool) async -> Void,
                        paused: @escaping @Sendable (String) -> String) async {
        var shown: String?
        while !Task.isCancelled {
            let outcome = await pass(quiet: true)
            if let blocked = outcome.blocked {
                await banner(paused(blocked), true)
                return
            }
            let text = outcome.waiting.map { "imports waiting: \($0); retrying. Devices still provision." }
            if text != shown {
                shown = text
                await banner(text, false)
            }
            try? await clock.sleep(for: .seconds(3))
        }
    }

    private func run(quiet: Bool) async -> Outcome {
        var outcome = Outcome()
        let loaded: Credentials
        switch credentials() {
        case .success(let value): loaded = value
        case .failure(let problem):
            outcome.blocked = "\(problem)"
            outcome.lines.append("imports paused: \(problem) Passed devices stay queued (`station queue sync` later).")
            return outcome
        }
        let base = station.cloud.apiBaseURL.absoluteString
        for product in products {
            let worker = SyncWorker(
                store: store, product: ParticleCloudClient(transport: transport, baseURL: base, token: loaded.productToken),
                testAccount: loaded.testAccountToken.map { ParticleCloudClient(transport: transport, baseURL: base, token: $0) },
                settings: .init(product: product.key, batchSize: station.cloud.batchSize, importSIMs: station.cloud.importSIMs,
                                nameFromSerial: station.cloud.nameFromSerial, shipmentGroup: station.cloud.shipmentGroup, fallback: station.fallback,
                                giveUpAfter: .seconds(10), freeDeviceLimit: station.product.freePlan ? StationConfig.freePlanDeviceLimit : nil,
                                platformID: product.platformID))
            let report = try? await worker.run()
            switch report?.stop {
            case .blocked(let error): outcome.blocked = "product \(product.key): \(error)"
            case .gaveUp(let error): outcome.waiting = "product \(product.key): \(error)"
            default: break
            }
            if !quiet, let report { outcome.lines.append("import into product \(product.key): \(report.imported) imported, \(report.needAttention) need attention") }
        }
        return outcome
    }
}
