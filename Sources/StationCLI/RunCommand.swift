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
            scanner types into this terminal). The import queue is synced in the background whenever the cloud answers.

            It refuses to start (exit 69) when it would run blind: no USB device directory, no \
            Particle udev rule (and not root), udevd not running, or the configured scanner missing.

            The screen (80x24 or larger): one row per slot (configured slots from the start): slot, \
            platform, device (serial number), state with progress. PASS and FAIL are words in reverse \
            video; a FAIL shows its whole code and what to do next (replug and retry, set aside for \
            rework, find the right sticker, call the line lead: `station codes` lists every code). \
            Below: totals, the whole reason of the latest failure, current prompts, and the keys.

            Keys, typed and ended with Enter: `r SLOT` re-runs the failed device in SLOT; `d SLOT` \
            shows SLOT's whole reason; `q` quits once the devices being written finish; `help` lists \
            them. A scan is parsed as a sticker (Gen 3: serial + mobile secret; Gen 2: serial; u-blox \
            Electron: IMEI; the scanner's AIM prefix and configured prefix/suffix removed); a line \
            that is neither a sticker nor a key is refused with the reason.
            """)

    @Option(name: .long, help: "The station config (stations/NAME.toml).", completion: .file()) var config: String
    @Option(name: .long, help: "The station store (default: the config's [store] path).") var store: String?
    @Option(name: .customLong("operator"), help: "The operator's name (otherwise asked for when the config wants sign-in).") var operatorName: String?
    @Flag(name: .long, help: "One line per change instead of the live screen.") var plain = false
    @Option(name: .long, help: "Quit once this many devices have finished (passed or failed): for scripted runs.") var stopAfter: Int?
    @Flag(name: .long, help: "Do not sync the import queue (the devices stay queued).") var noSync = false

    func run() async throws {
        let arrivals = try MachineProbe.refuseToRunBlind("run")
        // One read of the config: its cloud part and its bench part.
        let text = try CommandFailure.text(config, what: "station config")
        let station = try ConfigFiles.stationConfig(config, text: text)
        let bench: BenchConfig
        do {
            bench = try BenchConfig.parse(text, file: config, station: station)
        } catch {
            throw CommandFailure(.dataError, "CONFIG-INVALID", "\(error)")
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
                throw CommandFailure(.dataError, error.code, "\(path): \(error.description). The station does not start with this manifest")
            } catch let failure as CommandFailure {
                throw CommandFailure(failure.exit, failure.code, "\(failure.message). The station does not start without its manifest")
            }
        }

        // Scans and commands.
        let stdin = ScannerInput.standardInput()
        let input = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        var scannerLines: [(AsyncStream<String>, BenchConfig.Affixes)] = []
        for scanner in bench.scanners {
            do {
                switch scanner {
                case .serial(let path, let vendorID, let productID, let baud):
                    let opened = try ScannerInput.serial(path: path, vendorID: vendorID, productID: productID, baud: baud)
                    scannerLines.append((opened.lines, bench.affixes(of: scanner)))
                    print("scanner: \(opened.name)")
                case .evdev(let vendorID, let productID):
                    let opened = try ScannerInput.evdev(vendorID: vendorID, productID: productID)
                    scannerLines.append((opened.lines, bench.affixes(of: scanner)))
                    print("scanner: \(opened.name) (grabbed)")
                case .keyboardWedge, .none:
                    break
                }
            } catch {
                FileHandle.standardError.write(Data("station run does not start: the configured scanner is missing: \(error).\n".utf8))
                throw StationExitCode.unavailable.exitCode
            }
        }
        var operatorName = self.operatorName
        let allowed = bench.operators.isEmpty ? "any name" : bench.operators.joined(separator: ", ")
        if let given = operatorName, bench.operatorSignIn, given.isEmpty || !bench.operators.isEmpty && !bench.operators.contains(given) {
            FileHandle.standardError.write(Data("station run: --operator '\(Self.printable(given))' may not sign in at this station (operators: \(allowed)).\n".utf8))
            throw StationExitCode.usage.exitCode
        }
        var typed = stdin.makeAsyncIterator()
        if bench.operatorSignIn && operatorName == nil {
            // Three tries; the prompt is written at once (no newline: flushed by hand).
            for attempt in 1...3 {
                FileHandle.standardOutput.write(Data("operator sign-in: type your name, then Enter: ".utf8))
                guard let line = await typed.next() else {
                    FileHandle.standardError.write(Data("\nstation run: sign-in needs the operator's name, but standard input is closed. Run it at the bench's terminal, or pass --operator NAME.\n".utf8))
                    throw StationExitCode.usage.exitCode
                }
                let name = line.trimmingCharacters(in: .whitespaces)
                if !name.isEmpty, bench.operators.isEmpty || bench.operators.contains(name) {
                    operatorName = name
                    break
                }
                say("'\(Self.printable(name))' may not sign in at this station (operators: \(allowed))" + (attempt < 3 ? "; try again (\(3 - attempt) more)." : "."))
            }
            guard operatorName != nil else {
                FileHandle.standardError.write(Data("station run: three names were refused; ask the line lead to add yours to [bench] operators in \(config).\n".utf8))
                throw StationExitCode.failed.exitCode
            }
        }
        // A keyboard-wedge scanner types its stickers here: no echo of their mobile secrets.
        if bench.scanners.contains(.keyboardWedge) { TerminalEcho.off() }
        let continuation = input.continuation
        Task { while let line = await typed.next() { continuation.yield(line) }; continuation.finish() }
        // Credentials, once: a problem pauses the imports (one banner); the bench still
        // provisions and the imports wait in the queue.
        var importsPaused: String?
        if !noSync {
            if case .failure(let problem) = ConfigFiles.loadCredentials(for: station, configPath: config) { importsPaused = Self.paused(problem.description, config: config) }
        }

        let storePath = store ?? station.storeLocation(environment: ProcessInfo.processInfo.environment)
        let opened: StationStore
        do { opened = try StationStore(path: storePath, group: station.storeGroup) } catch {
            throw CommandFailure.from(error)!
        }
        let bus: LibUSBBus
        let link: USBBenchLink
        let events: AsyncStream<HardwareEvent>
        do {
            bus = try LibUSBBus(logLevel: .none, arrivals: arrivals)
            link = USBBenchLink(bus: bus)
            events = try link.events()
        } catch {
            throw CommandFailure(.unavailable, "USB-UNAVAILABLE", "\(error)")
        }
        let configPath = config
        let imports = BenchImports(store: opened, station: station, products: Self.products(station: station, bench: bench), transport: CurlHTTPTransport(),
                                   credentials: { ConfigFiles.loadCredentials(for: station, configPath: configPath).mapError { $0 as any Error } })
        // A connectivity line activates each device's SIM under the test account (its queued
        // import, synced now), then watches the test account for it coming online.
        var connectivity: ConnectivityTest?
        if bench.connectivityTest {
            let credentials = try ConfigFiles.credentials(for: station, configPath: config)
            guard let token = credentials.testAccountToken else {
                throw CommandFailure(.dataError, "CREDENTIALS-INVALID", "a connectivity line needs test_account_token in the credentials file: the station watches the test account for each device coming online")
            }
            let client = ParticleCloudClient(transport: CurlHTTPTransport(), baseURL: station.cloud.apiBaseURL.absoluteString, token: token)
            let line = TestAccountLine(store: opened, client: client) { await imports.pass(quiet: true) }
            connectivity = ConnectivityTest(link: link, activate: { id in try await line.activate(id) }, isOnline: { id in try await line.isOnline(id) })
        }
        let policy = BenchPolicy(pairing: bench.pairing, scanRequired: bench.scanRequired, finalStates: bench.finalStates, defaultFinalState: bench.finalState,
                                 connectivityTest: bench.connectivityTest)
        // A line that pairs by nothing still reads a scanned sticker as a serial number first.
        let pairing: PairingKey = bench.pairing == .imei ? .imei : .serialNumber
        let wedge = bench.affixes(of: .keyboardWedge)
        let driver = BenchDriver(
            policy: policy,
            provisioner: Provisioner(link: link, manifests: manifests, clock: ContinuousClock()),
            noCloud: NoCloudPolicy(connectivityTest: bench.connectivityTest), link: link,
            log: StoreLog(store: opened, stationID: station.station.id, line: station.station.line, operatorName: operatorName,
                          destination: station.fallback.policy == .always ? .testAccount : .product),
            clock: ContinuousClock(), connectivity: connectivity, slots: bench.slots ?? [],
            scanSettings: ScanSettings(preferred: pairing, prefix: wedge.prefix, suffix: wedge.suffix))
        await driver.restore()
        await driver.setBanner(importsPaused)
        let feed = Task { for await event in events { await driver.hardware(event) } }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await driver.tick()
            }
        }
        for (lines, affixes) in scannerLines {
            Task { for await line in lines { await driver.scanned(line, prefix: affixes.prefix, suffix: affixes.suffix) } }
        }
        let title = "station \(station.station.id)" + (station.station.line.map { ", \($0)" } ?? "") + (operatorName.map { ", operator \($0)" } ?? "")
        say("bench ready: \(manifests.keys.sorted().joined(separator: ", ")); every normal-mode arrival is put in listening mode first")
        let live = !(plain || isatty(STDOUT_FILENO) == 0)
        let screen = Task { await showBench(driver.updates(), title: title, plain: !live) }
        let paused = PausedImports(importsPaused)
        let sync = noSync || importsPaused != nil ? nil : Task {
            await imports.forever(banner: { text, blocked in
                if blocked { await paused.set(text) }
                await driver.setBanner(text)
            }, paused: { Self.paused($0, config: configPath) })
        }

        // Commands (and keyboard-wedge scans) until quit, or until enough devices finished.
        let quit = QuitFlag()
        _ = Task {
            // The end of standard input (a script, a closed terminal) is not a quit: the
            // bench keeps running until `q`, a signal or --stop-after.
            for await line in input.stream {
                if await driver.typed(line, stickers: bench.scanners.contains(.keyboardWedge)) {
                    quit.set()
                    return
                }
            }
        }
        while true {
            if quit.isSet { break }
            if let stopAfter, await driver.jobs.filter({ !$0.step.isActive }).count >= stopAfter { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        await driver.setBanner("quitting: waiting for the devices being written to finish")
        await driver.drain()
        feed.cancel()
        ticker.cancel()
        sync?.cancel()
        var summary: [String] = []
        let pausedNow = await paused.text
        if !noSync && pausedNow == nil {
            // One last pass, so what passed is in the products when the cloud answers.
            summary += await imports.pass(quiet: false).lines
        }
        // The final grid keeps the standing banner (plain lines printed it once already).
        if live { await driver.setBanner(pausedNow) }
        let jobs = await driver.jobs
        summary.append("done: \(jobs.filter { $0.step == .passed }.count) passed, \(jobs.filter { $0.step == .failed }.count) failed; store \(opened.path)")
        let last = await driver.view
        screen.cancel()
        await screen.value
        endBench(last, title: title, live: live, summary: summary)
        TerminalEcho.restore()
        withExtendedLifetime(bus) {}
    }

    /// The banner for paused imports.
    static func paused(_ reason: String, config: String) -> String {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        return "imports paused: \(reason)\(reason.hasSuffix(".") ? "" : ".") Devices still provision; their imports wait in the queue (`station queue sync --config \(config)` once fixed)."
    }

    /// A name as it may be echoed: printable ASCII, at most 40 characters.
    static func printable(_ text: String) -> String {
        String(String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.map(Character.init)).prefix(40))
    }

    /// The bench's products: the station's own, and one per extra platform.
    static func products(station: StationConfig, bench: BenchConfig) -> [BenchImports.Product] {
        let catalog = PlatformCatalog.bundled
        let filter = bench.extraProducts.isEmpty ? nil : Int(station.product.platform.id.rawValue)
        return [BenchImports.Product(key: ProductKey(station.product.product.description), platformID: filter)]
            + bench.extraProducts.map { BenchImports.Product(key: ProductKey(String($0.productID)), platformID: catalog.platform(named: $0.platform).map { Int($0.id.rawValue) }) }
    }
}

/// Why the imports are paused for the rest of the run (credentials, or a refusal retrying
/// cannot fix), once known.
actor PausedImports {
    var text: String?
    init(_ text: String?) { self.text = text }
    func set(_ text: String?) { self.text = text }
}

/// Set once when the technician quits (or standard input ends).
final class QuitFlag: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// The end of a run: on a terminal the final grid stays, every slot's result on it, with the
/// summary below (within the screen); otherwise the summary lines.
func endBench(_ last: BenchView, title: String, live: Bool, summary: [String]) {
    if live {
        let size = terminalSize()
        FileHandle.standardOutput.write(Data(BenchScreen(title: title, width: size.columns, height: size.rows).finalFrame(last, summary: summary).utf8))
    } else {
        var log = PlainBenchLog()
        _ = log.lines(last)
        for line in summary { say(line) }
    }
}

/// The terminal's size (80x24 when it cannot be read, or smaller).
func terminalSize() -> (columns: Int, rows: Int) {
    var size = winsize()
    guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col >= 80, size.ws_row >= 24 else { return (80, 24) }
    return (Int(size.ws_col), Int(size.ws_row))
}

/// The live screen on a terminal (at most ten frames a second, the last one always), else
/// one line per change: what `station run` and `station demo` show.
func showBench(_ updates: AsyncStream<BenchView>, title: String, plain: Bool) async {
    let size = terminalSize()
    let screen = BenchScreen(title: title, width: size.columns, height: size.rows)
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
