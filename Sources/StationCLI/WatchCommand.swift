import ArgumentParser
import ControlRequests
import Foundation
import LibUSB
import ParticleDevices
import Seams
import Station

/// `station watch`: a live list of Particle devices arriving and leaving, with the no-cloud
/// guard applied to each arrival in normal mode and its latency shown.
struct WatchCommand: AsyncParsableCommand, JSONOutputCommand {
    var printsJSON: Bool { json }
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Watch devices arrive and leave, keeping each one off the cloud.",
        discussion: """
            Every device that arrives in normal mode is put in listening mode within the bound \
            (default 1 s from its arrival) and kept there while the watch runs: a device's first \
            cloud connection starts billing. Devices in DFU mode run no firmware and need nothing. \
            When the watch ends (--for, Ctrl-C), the devices still attached are left in the final \
            state (listening, or DFU with --final dfu). Exit 1 when a device could not be stopped \
            within the bound.
            """)

    @Option(name: .long, help: "Seconds from arrival within which a device must be stopped.") var bound: Double = 1
    @Option(name: .customLong("for"), help: "Stop after this many seconds (default: until Ctrl-C).") var seconds: Double?
    @Option(name: .long, help: "Where to leave the attached devices when the watch ends: listening or dfu.") var final: NoCloudPolicy.FinalState = .listening
    @Flag(name: .long, help: "One JSON object per line instead of text.") var json = false

    func validate() throws {
        guard bound > 0 else { throw ValidationError("--bound must be more than 0 seconds.") }
        if let seconds, seconds <= 0 { throw ValidationError("--for must be more than 0 seconds.") }
    }

    func run() async throws {
        let arrivals = try MachineProbe.refuseToRunBlind("watch")
        let policy = NoCloudPolicy(bound: .milliseconds(Int(bound * 1000)), finalState: final)
        let guardian = NoCloudGuard(policy: policy, clock: ContinuousClock())
        let (bus, events) = try MachineProbe.watchParticleDevices(arrivals: arrivals)
        let output = WatchOutput(json: json)
        let held = HeldDevices()
        output.line(["event": "watching", "bound": bound], text: "watching for Particle devices; each normal-mode arrival is put in listening mode within \(bound) s")
        let watcher = Task {
            for await event in events {
                switch event {
                case .arrived(let summary):
                    let arrived = ContinuousClock.now
                    let task = Task { await guardOne(summary, arrived: arrived, guardian: guardian, bus: bus, output: output, held: held) }
                    held.start(summary.portPath, task)
                case .left(let summary):
                    held.left(summary.portPath)
                    output.line(["event": "left", "port": summary.portPath], text: "- \(summary.portPath)  left")
                }
            }
        }
        let stop = StopSignal()
        if let seconds {
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        } else {
            await stop.wait()
        }
        watcher.cancel()
        // The final state for the devices still here.
        for (port, requests) in held.finish() {
            do throws(ControlRequestError) {
                try await guardian.leave(requests)
                output.line(["event": "final", "port": port, "state": final.rawValue], text: "  \(port)  left in \(final) mode")
            } catch {
                output.line(["event": "final", "port": port, "error": error.description], text: "  \(port)  FAIL: could not leave it in \(final) mode: \(error)")
            }
        }
        let failed = output.failures
        output.line(["event": "done", "failures": failed], text: failed == 0 ? "done" : "done: \(failed) device(s) not stopped within \(bound) s")
        withExtendedLifetime(bus) {}
        if failed > 0 { throw StationExitCode.failed.exitCode }
    }

    func guardOne(_ summary: USBDeviceSummary, arrived: ContinuousClock.Instant, guardian: NoCloudGuard<ContinuousClock>, bus: LibUSBBus,
                  output: WatchOutput, held: HeldDevices) async {
        let port = summary.portPath
        let match = PlatformCatalog.bundled.platform(usbProductID: summary.productID)
        let opened = OpenedTransport()
        let report = await guardian.stop(port: port, arrivedAt: arrived, inDFU: match?.mode == .dfu) {
            let transport = try await opened.get { try await bus.open(portPath: port, retry: OpenRetry(attempts: 1)) }
            return (ControlRequests(channel: ControlChannel(transport: transport, clock: ContinuousClock())), LegacyRequests(transport: transport))
        }
        var deviceID: String?
        if let transport = opened.current { deviceID = try? await DevicesCommand.serial(transport) }
        if deviceID == nil, let transport = try? await bus.open(portPath: port) { deviceID = try? await DevicesCommand.serial(transport) }
        let milliseconds = Int(report.latency.components.seconds * 1000 + report.latency.components.attoseconds / 1_000_000_000_000_000)
        let action: String
        switch report.action {
        case .listening: action = "listening"
        case .cloudAborted: action = "cloud-aborted"
        case .dfu: action = "dfu"
        case .allowed: action = "allowed"
        case .failed(let code, _): action = "failed \(code)"
        }
        var fields: [String: Any] = ["event": "arrived", "port": port, "platform": match?.platform.name ?? NSNull(), "mode": match?.mode.rawValue ?? "unknown",
                                     "deviceID": deviceID ?? NSNull(), "action": action, "latencyMs": milliseconds, "withinBound": report.withinBound]
        var text = "+ \(port)  \(match?.platform.name ?? "unknown")  \(match?.mode.rawValue ?? "?")  \(deviceID ?? "?")  "
        switch report.action {
        case .dfu: text += "DFU mode: no firmware runs"
        case .failed(let code, let message):
            text += "FAIL [\(code)] after \(milliseconds) ms: \(message). Unplug it now: it may connect to the cloud."
            fields["message"] = message
            output.failed()
        default:
            text += "\(action) in \(milliseconds) ms" + (report.withinBound ? "" : " (LATE: the bound is \(Int(bound * 1000)) ms)")
            if !report.withinBound { output.failed() }
        }
        output.line(fields, text: text)
        guard case .listening = report.action, let transport = opened.current else { return }
        let requests = ControlRequests(channel: ControlChannel(transport: transport, clock: ContinuousClock()))
        held.hold(port, requests)
        await guardian.hold(requests) { note in
            output.line(["event": "held", "port": port, "note": note], text: "  \(port)  \(note)")
        }
    }
}

/// The transport the guard opened, kept for holding the device afterwards.
final class OpenedTransport: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var transport: LibUSBTransport?
    var current: LibUSBTransport? { lock.withLock { transport } }
    func get(_ open: () async throws -> LibUSBTransport) async throws -> LibUSBTransport {
        if let transport = current { return transport }
        let opened = try await open()
        lock.withLock { transport = opened }
        return opened
    }
}

/// Devices being guarded: their tasks (cancelled when they leave) and control channels.
final class HeldDevices: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var tasks: [String: Task<Void, Never>] = [:]
    private var requests: [String: ControlRequests] = [:]
    func start(_ port: String, _ task: Task<Void, Never>) { lock.withLock { tasks[port]?.cancel(); tasks[port] = task } }
    func hold(_ port: String, _ channel: ControlRequests) { lock.withLock { requests[port] = channel } }
    func left(_ port: String) {
        lock.withLock {
            tasks.removeValue(forKey: port)?.cancel()
            requests.removeValue(forKey: port)
        }
    }
    /// Stops holding; returns the devices still attached.
    func finish() -> [(String, ControlRequests)] {
        lock.withLock {
            for task in tasks.values { task.cancel() }
            tasks.removeAll()
            return requests.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
    }
}

/// Lines to stdout (text or JSON), one writer at a time; counts devices not stopped in time.
final class WatchOutput: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var failedCount = 0
    let json: Bool
    init(json: Bool) { self.json = json }
    func failed() { lock.withLock { failedCount += 1 } }
    var failures: Int { lock.withLock { failedCount } }
    func line(_ fields: [String: Any], text: String) {
        lock.withLock {
            if json, let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) {
                say(String(decoding: data, as: UTF8.self))
            } else {
                say(text)
            }
        }
    }
}

/// Ctrl-C or SIGTERM ends the watch cleanly (the final state is applied).
final class StopSignal: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let stream: AsyncStream<Void>
    init() {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        self.stream = stream
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield() }
            source.resume()
            sources.append(source)
        }
    }
    func wait() async {
        for await _ in stream { return }
    }
}

/// `station watch --final listening|dfu`.
extension NoCloudPolicy.FinalState: ExpressibleByArgument {}
