import ArgumentParser
import Curl
import Foundation
import ImportQueue
import LibUSB
import ParticleCloud
import ParticleDevices
import PostgresLine
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
        var lineSync: (@Sendable () async -> String?)?
        if let line = station.line {
            let id = station.station.id, lineName = station.station.line
            lineSync = { await LineReplicator.pass(opened, line: line, station: id, lineName: lineName) }
        }
        var setup = BenchSession<ContinuousClock>.Setup(
            station: station, bench: bench, configPath: config, manifests: manifests, store: opened, link: link, hardware: events,
            scanners: scannerLines.map { (lines: $0.0, affixes: $0.1) }, typed: input.stream, operatorName: operatorName, sync: !noSync, stopAfter: stopAfter,
            transport: CurlHTTPTransport(), credentials: { ConfigFiles.loadCredentials(for: station, configPath: configPath).mapError { $0 as any Error } })
        setup.lineSync = lineSync
        let session = BenchSession(setup, clock: ContinuousClock())
        let updates: AsyncStream<BenchSession<ContinuousClock>.Event>
        do { updates = try session.run() } catch {
            throw CommandFailure(.dataError, error.code, error.description)
        }
        let title = "station \(station.station.id)" + (station.station.line.map { ", \($0)" } ?? "") + (operatorName.map { ", operator \($0)" } ?? "")
        let live = !(plain || isatty(STDOUT_FILENO) == 0)
        // Plain lines print every change; the live screen draws the latest.
        let (views, screenFeed) = AsyncStream<BenchView>.makeStream(bufferingPolicy: live ? .bufferingNewest(1) : .unbounded)
        var screen: Task<Void, Never>?
        for await event in updates {
            switch event {
            case .ready(let line):
                say(line)
                screen = Task { await showBench(views, title: title, plain: !live) }
            case .view(let view):
                screenFeed.yield(view)
            case .line(let text):
                // On the live screen it shows in the summary at the end.
                if !live { say(text) }
            case .finished(var last, let summary, let banner):
                screenFeed.finish()
                await screen?.value
                // The final grid keeps the standing banner (plain lines printed it once already).
                if live { last.banner = banner }
                endBench(last, title: title, live: live, summary: summary)
            }
        }
        TerminalEcho.restore()
        withExtendedLifetime(bus) {}
    }

    /// A name as it may be echoed: printable ASCII, at most 40 characters.
    static func printable(_ text: String) -> String {
        String(String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.map(Character.init)).prefix(40))
    }
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
