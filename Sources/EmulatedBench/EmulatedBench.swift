import Clocks
import ControlRequests
import DFU
import DeviceEmulator
import FirmwareModules
import Foundation
import ListeningConsole
import ParticleDevices
import Seams
import Station

/// A whole bench of emulated devices in process, for `station demo`, `station benchmark pipeline`
/// and tests: devices are plugged in and out, re-enumerate on mode switches (normal → DFU on
/// request 50, DFU → normal when they leave DFU with bootable firmware, a reset after a
/// control-request update applies it), and the station reaches them through `DeviceLink`,
/// as it reaches real ones through libusb.
public actor EmulatedBench: DeviceLink {
    public enum Mode: String, Sendable { case normal, dfu, away }

    /// A unit and the port it is plugged into (touched only inside the actor).
    struct Slot {
        let port: String
        let unit: EmulatedUnit<AnyClock<Duration>>
        var mode: Mode { get async { Mode(rawValue: await unit.mode.rawValue) ?? .away } }
        var spec: BenchDevice { unit.spec }
        var normal: EmulatedNormalDevice? { get async { await unit.normal } }
        var dfu: EmulatedDFUDevice<AnyClock<Duration>> { unit.dfu }
    }

    var units: [Slot] = []
    var continuation: AsyncStream<HardwareEvent>.Continuation
    public nonisolated let events: AsyncStream<HardwareEvent>
    var monitor: Task<Void, Never>?
    /// How long a mode switch keeps the device off the bus.
    let reenumeration: Duration
    /// Told when a device connects to the cloud (a fake cloud marks it online).
    var onConnected: (@Sendable (String) -> Void)?
    var reportedConnected: Set<String> = []

    public func setOnConnected(_ hook: @escaping @Sendable (String) -> Void) { onConnected = hook }

    /// What every wait is measured on: the station side's waits and timeouts, and the
    /// emulated devices' own timing model (flash and USB times, resets, cloud timers).
    let clock: any Clock<Duration>

    public init(_ devices: [(BenchDevice, [FirmwareModule])], physical: Bool = false, reenumeration: Duration = .milliseconds(100),
                clock: any Clock<Duration> = ContinuousClock()) throws {
        (events, continuation) = AsyncStream<HardwareEvent>.makeStream(bufferingPolicy: .unbounded)
        self.reenumeration = reenumeration
        self.clock = clock
        for (index, (spec, modules)) in devices.enumerated() {
            units.append(Slot(port: "1-\(index + 1)", unit: try EmulatedUnit(spec, modules: modules, physical: physical, clock: AnyClock(clock))))
        }
    }

    public var ports: [String] { units.map(\.port) }

    /// A new listener (a restarted station): events go to it from now on, starting with the
    /// devices present, as libusb's hotplug enumeration gives a new process.
    public func subscribe() async -> AsyncStream<HardwareEvent> {
        let (stream, next) = AsyncStream<HardwareEvent>.makeStream(bufferingPolicy: .unbounded)
        continuation.finish()
        continuation = next
        for unit in units { await announce(unit) }
        return stream
    }

    /// Plugs device `index` in: it shows up in its spec's mode (normal or listening: its
    /// firmware runs and, with an active SIM, starts toward the cloud).
    public func plug(_ index: Int) async {
        let slot = units[index]
        guard await slot.mode == .away else { return }
        await slot.unit.plugIn()
        await slot.normal?.powerOn()
        await announce(slot)
        startMonitor()
    }

    /// Unplugs device `index` (the cable is pulled).
    public func unplug(_ index: Int) async {
        let slot = units[index]
        guard await slot.mode != .away else { return }
        await slot.unit.unplug()
        continuation.yield(.departed(port: slot.port))
    }

    /// What each device did toward the cloud (arrived, stopped, connected), by device ID.
    public func cloudLogs() async -> [String: [DeviceEvent]] {
        var logs: [String: [DeviceEvent]] = [:]
        for unit in units {
            var log = await unit.unit.earlierCloudLog
            if let normal = await unit.normal { log += await normal.events }
            logs[unit.spec.profile.deviceID.rawValue] = log
        }
        return logs
    }

    /// What device `index`'s DFU personality erased, programmed and transferred (its
    /// flash: what USB wrote or read in DFU mode).
    public func flashCounters(_ index: Int) async -> FlashCounters { await units[index].dfu.counters }

    /// True when any device connected to the cloud (billing would have started).
    public func anyConnected() async -> [String] {
        await cloudLogs().filter { $0.value.contains { $0.kind == .connected } }.map(\.key).sorted()
    }

    public func stop() {
        monitor?.cancel()
        continuation.finish()
    }

    /// Its arrival, in the mode it is in now (nothing while it is away).
    func announce(_ unit: Slot) async {
        let mode = await unit.mode
        guard mode != .away else { return }
        let usb = unit.spec.platform.usb
        let pid = mode == .dfu ? usb?.dfuProductID : usb?.normalProductID
        continuation.yield(.arrived(port: unit.port, deviceID: unit.spec.profile.deviceID, productID: pid ?? 0, inDFU: mode == .dfu))
    }

    func startMonitor() {
        guard monitor == nil else { return }
        let clock = self.clock
        monitor = Task { [weak self] in
            while !Task.isCancelled {
                try? await clock.sleep(for: .milliseconds(20))
                await self?.poll()
            }
        }
    }

    /// Mode switches: a normal personality that left the bus after a reset request, a DFU
    /// personality that left DFU.
    func poll() async {
        for unit in units {
            if let normal = await unit.normal, await normal.connected {
                let id = unit.spec.profile.deviceID.rawValue
                if reportedConnected.insert(id).inserted { onConnected?(id) }
            }
            guard await unit.unit.leftTheBus() else { continue }
            continuation.yield(.departed(port: unit.port))
            try? await clock.sleep(for: reenumeration)
            _ = await unit.unit.comeBack()
            await unit.normal?.powerOn()
            await announce(unit)
        }
    }

    func unit(_ deviceID: DeviceID) -> Slot? { units.first { $0.spec.profile.deviceID == deviceID } }

    // MARK: DeviceLink

    public func normal(_ deviceID: DeviceID, within: Duration) async throws -> ControlRequests {
        let deadline = Deadline(after: within, on: clock)
        while true {
            if let unit = unit(deviceID), await unit.mode == .normal, let normal = await unit.normal, await normal.isAttached {
                return ControlRequests(channel: ControlChannel(transport: normal, clock: clock))
            }
            guard !deadline.hasPassed else { throw LinkUnavailable(deviceID: deviceID, mode: "normal") }
            try await clock.sleep(for: .milliseconds(10))
        }
    }

    public func dfu(_ deviceID: DeviceID, within: Duration) async throws -> DfuSeSession {
        let deadline = Deadline(after: within, on: clock)
        while true {
            if let unit = unit(deviceID), await unit.mode == .dfu, await unit.dfu.presence == .attached {
                return try await DfuSeSession.open(unit.dfu, clock: clock)
            }
            guard !deadline.hasPassed else { throw LinkUnavailable(deviceID: deviceID, mode: "DFU") }
            try await clock.sleep(for: .milliseconds(10))
        }
    }

    public func presence(_ deviceID: DeviceID) async -> LinkPresence {
        guard let unit = unit(deviceID) else { return .absent }
        switch await unit.mode {
        case .normal:
            guard let normal = await unit.normal, await normal.isAttached else { return .absent }
            return .normal
        case .dfu:
            return await unit.dfu.presence == .attached ? .dfu : .absent
        case .away:
            return .absent
        }
    }

    public func console(_ deviceID: DeviceID) async -> (@Sendable () async throws -> ListeningConsole)? {
        guard let normal = await unit(deviceID)?.normal else { return nil }
        let clock = self.clock
        return {
            var console = ListeningConsole(stream: EmulatedSerialStream(normal), clock: clock)
            console.quiet = .milliseconds(30)
            console.answerTimeout = .seconds(5)
            return console
        }
    }
}
