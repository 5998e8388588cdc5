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

    final class Unit: @unchecked Sendable {
        // Touched only inside the actor.
        let port: String
        let spec: BenchDevice
        let dfu: EmulatedDFUDevice<ContinuousClock>
        var normal: EmulatedNormalDevice?
        var mode: Mode = .away
        /// The cloud log of every normal-mode personality it had.
        var cloudLog: [DeviceEvent] = []
        init(port: String, spec: BenchDevice, dfu: EmulatedDFUDevice<ContinuousClock>) {
            self.port = port
            self.spec = spec
            self.dfu = dfu
        }
    }

    var units: [Unit] = []
    var continuation: AsyncStream<HardwareEvent>.Continuation
    public nonisolated let events: AsyncStream<HardwareEvent>
    var monitor: Task<Void, Never>?
    /// How long a mode switch keeps the device off the bus.
    let reenumeration: Duration
    /// Told when a device connects to the cloud (a fake cloud marks it online).
    var onConnected: (@Sendable (String) -> Void)?
    var reportedConnected: Set<String> = []

    public func setOnConnected(_ hook: @escaping @Sendable (String) -> Void) { onConnected = hook }

    public init(_ devices: [(BenchDevice, [FirmwareModule])], physical: Bool = false, reenumeration: Duration = .milliseconds(100)) throws {
        (events, continuation) = AsyncStream<HardwareEvent>.makeStream(bufferingPolicy: .unbounded)
        self.reenumeration = reenumeration
        for (index, (spec, modules)) in devices.enumerated() {
            let timing: FlashTiming = physical ? (spec.platform.mcu == .stm32f205 ? .stm32f205 : .nrf52840) : .instant
            let dfu = try EmulatedDFUDevice(
                .init(platform: spec.platform, deviceID: spec.profile.deviceID.rawValue, timing: timing, faults: spec.faults), clock: ContinuousClock(),
                preload: modules.filter { $0.header.function != .ncpFirmware }, ncp: modules.first { $0.header.function == .ncpFirmware })
            units.append(Unit(port: "1-\(index + 1)", spec: spec, dfu: dfu))
        }
    }

    public var ports: [String] { units.map(\.port) }

    /// A new listener (a restarted station): events go to it from now on, starting with the
    /// devices present, as libusb's hotplug enumeration gives a new process.
    public func subscribe() -> AsyncStream<HardwareEvent> {
        let (stream, next) = AsyncStream<HardwareEvent>.makeStream(bufferingPolicy: .unbounded)
        continuation.finish()
        continuation = next
        for unit in units where unit.mode != .away { announce(unit) }
        return stream
    }

    /// Plugs device `index` in: it shows up in its spec's mode (normal or listening: its
    /// firmware runs and, with an active SIM, starts toward the cloud).
    public func plug(_ index: Int) async {
        let unit = units[index]
        guard unit.mode == .away else { return }
        let bootable = await unit.dfu.bootReport().bootable
        if unit.spec.mode == .dfu || !bootable {
            // A device whose firmware cannot start (a write cut short) stays in DFU mode.
            await unit.dfu.replug()
            unit.mode = .dfu
        } else {
            await boot(unit, listening: unit.spec.mode == .listening)
        }
        announce(unit)
        startMonitor()
    }

    /// Unplugs device `index` (the cable is pulled).
    public func unplug(_ index: Int) async {
        let unit = units[index]
        guard unit.mode != .away else { return }
        if let normal = unit.normal {
            unit.cloudLog += await normal.events
            await normal.unplug()
            unit.normal = nil
        }
        await unit.dfu.unplug()
        unit.mode = .away
        continuation.yield(.departed(port: unit.port))
    }

    /// What each device did toward the cloud (arrived, stopped, connected), by device ID.
    public func cloudLogs() async -> [String: [DeviceEvent]] {
        var logs: [String: [DeviceEvent]] = [:]
        for unit in units {
            var log = unit.cloudLog
            if let normal = unit.normal { log += await normal.events }
            logs[unit.spec.profile.deviceID.rawValue] = log
        }
        return logs
    }

    /// True when any device connected to the cloud (billing would have started).
    public func anyConnected() async -> [String] {
        await cloudLogs().filter { $0.value.contains { $0.kind == .connected } }.map(\.key).sorted()
    }

    public func stop() {
        monitor?.cancel()
        continuation.finish()
    }

    func boot(_ unit: Unit, listening: Bool) async {
        let modules = await unit.dfu.installedModules()
        let normal = EmulatedNormalDevice(platform: unit.spec.platform, profile: unit.spec.profile, listening: listening,
                                          deviceOS: EmulatedModule.runningRelease(modules, fallback: unit.spec.deviceOS), modules: modules)
        await normal.powerOn()
        unit.normal = normal
        unit.mode = .normal
    }

    func announce(_ unit: Unit) {
        let usb = unit.spec.platform.usb
        let pid = unit.mode == .dfu ? usb?.dfuProductID : usb?.normalProductID
        continuation.yield(.arrived(port: unit.port, deviceID: unit.spec.profile.deviceID.rawValue, productID: pid ?? 0, inDFU: unit.mode == .dfu))
    }

    func startMonitor() {
        guard monitor == nil else { return }
        monitor = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
                await self?.poll()
            }
        }
    }

    /// Mode switches: a normal personality that left the bus after a reset request, a DFU
    /// personality that left DFU.
    func poll() async {
        for unit in units {
            if let normal = unit.normal, await normal.connected {
                let id = unit.spec.profile.deviceID.rawValue
                if reportedConnected.insert(id).inserted { onConnected?(id) }
            }
            switch unit.mode {
            case .normal:
                guard let normal = unit.normal, let reset = await normal.pendingReset, !(await normal.isAttached) else { continue }
                unit.cloudLog += await normal.events
                unit.normal = nil
                unit.mode = .away
                continuation.yield(.departed(port: unit.port))
                try? await Task.sleep(for: reenumeration)
                if reset == .dfu {
                    await unit.dfu.replug()
                    unit.mode = .dfu
                } else {
                    for module in await normal.acceptedUpdates { try? await unit.dfu.install(module) }
                    await boot(unit, listening: false)
                }
                announce(unit)
            case .dfu:
                guard await unit.dfu.presence == .leftDFU else { continue }
                unit.mode = .away
                continuation.yield(.departed(port: unit.port))
                try? await Task.sleep(for: reenumeration)
                if await unit.dfu.bootReport().bootable {
                    await boot(unit, listening: false)
                } else {
                    // No bootable firmware: the bootloader stays in DFU mode.
                    await unit.dfu.replug()
                    unit.mode = .dfu
                }
                announce(unit)
            case .away:
                continue
            }
        }
    }

    func unit(_ deviceID: String) -> Unit? { units.first { $0.spec.profile.deviceID.rawValue == deviceID.lowercased() } }

    // MARK: DeviceLink

    public func normal(_ deviceID: String, within: Duration) async throws -> ControlRequests {
        let deadline = ContinuousClock.now + within
        while true {
            if let unit = unit(deviceID), unit.mode == .normal, let normal = unit.normal, await normal.isAttached {
                return ControlRequests(channel: ControlChannel(transport: normal, clock: ContinuousClock()))
            }
            guard ContinuousClock.now < deadline else { throw LinkUnavailable(deviceID: deviceID, mode: "normal") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    public func dfu(_ deviceID: String, within: Duration) async throws -> DfuSeSession {
        let deadline = ContinuousClock.now + within
        while true {
            if let unit = unit(deviceID), unit.mode == .dfu, await unit.dfu.presence == .attached,
               let layout = unit.spec.platform.dfuAltSettings?.first(where: { $0.alt == 0 })?.layout {
                return DfuSeSession(transport: unit.dfu, clock: ContinuousClock(), layout: try DfuSeLayout(layout))
            }
            guard ContinuousClock.now < deadline else { throw LinkUnavailable(deviceID: deviceID, mode: "DFU") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    public func presence(_ deviceID: String) async -> LinkPresence {
        guard let unit = unit(deviceID) else { return .absent }
        switch unit.mode {
        case .normal:
            guard let normal = unit.normal, await normal.isAttached else { return .absent }
            return .normal
        case .dfu:
            return await unit.dfu.presence == .attached ? .dfu : .absent
        case .away:
            return .absent
        }
    }

    public func console(_ deviceID: String) async -> (@Sendable () async throws -> ListeningConsole)? {
        guard let normal = unit(deviceID)?.normal else { return nil }
        return {
            var console = ListeningConsole(stream: EmulatedSerialStream(normal), clock: ContinuousClock())
            console.quiet = .milliseconds(30)
            console.answerTimeout = .seconds(5)
            return console
        }
    }
}
