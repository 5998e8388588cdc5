import FirmwareModules
import ParticleDevices

/// One emulated device over time, as a host sees it: the DFU personality (the bootloader,
/// which owns the flash) and, while its firmware runs, a normal-mode personality made from
/// what the flash holds. Plugging in, unplugging, and the re-enumerations a mode switch or
/// a reset causes move it between them: the one place both the in-process bench
/// (`EmulatedBench`) and the lab's USB/IP server (`station lab serve`) get them from.
public actor EmulatedUnit<C: Clock<Duration>> {
    public enum Mode: String, Sendable { case normal, dfu, away }

    /// Why it left the bus and how it came back.
    public enum Return: Sendable {
        /// Request 50 (or 14400 baud): back in DFU mode.
        case dfuAfterReset
        /// A reset (40), safe mode (60) or an accepted update: back in normal mode with the
        /// updates applied (each module, and why it was not applied if it was not).
        case normalAfterReset(PendingReset, applied: [(module: FirmwareModule, error: String?)])
        /// It left DFU: back in normal mode when its firmware boots, else still in DFU mode.
        case leftDFU(BootReport)
    }

    public nonisolated let spec: BenchDevice
    public nonisolated let dfu: EmulatedDFUDevice<C>
    public private(set) var normal: EmulatedNormalDevice?
    public private(set) var mode: Mode = .away
    /// The cloud log of every normal-mode personality it had before the current one.
    public private(set) var earlierCloudLog: [DeviceEvent] = []
    /// What made it leave the bus, until `comeBack()`.
    private var leaving: Leaving?
    /// What it was made with, for its first plug-in.
    private let made: [EmulatedModule]
    private var pluggedBefore = false

    private enum Leaving {
        case reset(PendingReset, accepted: [FirmwareModule])
        case leftDFU
    }

    /// `physical`: the emulator pays datasheet flash and full-speed USB times.
    public init(_ spec: BenchDevice, modules: [FirmwareModule], physical: Bool, clock: C) throws {
        self.spec = spec
        made = modules.map(EmulatedModule.init)
        let timing: FlashTiming = physical ? (spec.platform.mcu == .stm32f205 ? .stm32f205 : .nrf52840) : .instant
        dfu = try EmulatedDFUDevice(
            .init(platform: spec.platform, deviceID: spec.profile.deviceID.rawValue, protection: spec.profile.protection,
                  commands: Self.dfuCommands(deviceOS: spec.deviceOS), timing: timing, faults: spec.faults), clock: clock,
            preload: modules.filter { $0.header.function != .ncpFirmware }, ncp: modules.first { $0.header.function == .ncpFirmware })
    }

    /// The DfuSe commands its bootloader lists: 0xFA (the protection state descriptor) from
    /// the release that reports it (`dfuProtectionDescriptor`).
    static func dfuCommands(deviceOS: String) -> [UInt8] {
        let base: [UInt8] = [0x00, 0x21, 0x41]
        guard let release = DeviceOSRelease(deviceOS), DeviceOSCapabilities.bundled.supports(.dfuProtectionDescriptor, release) else { return base }
        return base + [0xFA]
    }

    public nonisolated var deviceID: String { spec.profile.deviceID.rawValue }

    /// The personality on the bus now (nil while away).
    public var current: (any USBIPServable)? {
        switch mode {
        case .normal: normal
        case .dfu: dfu
        case .away: nil
        }
    }

    /// Plugs it in. The first time it shows up as its spec says (normal or listening: its
    /// firmware runs and, with an active SIM, starts toward the cloud; a spec may run firmware
    /// it does not hold, as a scenario's device that is only ever guarded). Later, it goes by
    /// what its flash holds: in DFU mode when its firmware cannot start (a write cut short).
    public func plugIn() async {
        guard mode == .away else { return }
        defer { pluggedBefore = true }
        if spec.mode == .dfu {
            await dfu.replug()
            mode = .dfu
        } else if !pluggedBefore {
            let next = EmulatedNormalDevice(platform: spec.platform, profile: spec.profile, listening: spec.mode == .listening, deviceOS: spec.deviceOS, modules: made,
                                            clock: dfu.clock)
            normal = next
            mode = .normal
        } else if await dfu.bootReport().bootable {
            await boot(listening: spec.mode == .listening)
        } else {
            await dfu.replug()
            mode = .dfu
        }
    }

    /// The cable is pulled.
    public func unplug() async {
        guard mode != .away else { return }
        if let normal {
            earlierCloudLog += await normal.events
            await normal.unplug()
            self.normal = nil
        }
        await dfu.unplug()
        mode = .away
        leaving = nil
    }

    /// True when the personality on the bus has just left it by itself (a reset or mode
    /// switch was asked for, or it left DFU): it is away until `comeBack()`.
    public func leftTheBus() async -> Bool {
        switch mode {
        case .normal:
            guard let normal, let reset = await normal.pendingReset, !(await normal.isAttached) else { return false }
            earlierCloudLog += await normal.events
            leaving = .reset(reset, accepted: await normal.acceptedUpdates)
            self.normal = nil
        case .dfu:
            guard await dfu.presence == .leftDFU else { return false }
            leaving = .leftDFU
        case .away:
            return false
        }
        mode = .away
        return true
    }

    /// Re-enumerates after `leftTheBus()`: in the mode the reason leads to. Nil when it had
    /// not left by itself.
    public func comeBack() async -> Return? {
        guard mode == .away, let reason = leaving else { return nil }
        leaving = nil
        switch reason {
        case .reset(.dfu, _):
            await dfu.replug()
            mode = .dfu
            return .dfuAfterReset
        case .reset(let target, let accepted):
            var applied: [(module: FirmwareModule, error: String?)] = []
            for module in accepted {
                do {
                    try await dfu.install(module)
                    applied.append((module, nil))
                } catch {
                    applied.append((module, "\(error)"))
                }
            }
            await boot(listening: false)
            return .normalAfterReset(target, applied: applied)
        case .leftDFU:
            let report = await dfu.bootReport()
            if report.bootable {
                await boot(listening: false)
            } else {
                // No firmware that starts: the bootloader stays in DFU mode.
                await dfu.replug()
                mode = .dfu
            }
            return .leftDFU(report)
        }
    }

    /// Its firmware starts: a normal-mode personality from what the flash holds. It powers
    /// on (its cloud timer starts) when its owner says so: at once in process, at the host's
    /// import over USB/IP.
    private func boot(listening: Bool) async {
        let installed = await dfu.installedModules()
        let next = EmulatedNormalDevice(platform: spec.platform, profile: spec.profile, listening: listening,
                                        deviceOS: EmulatedModule.runningRelease(installed, fallback: spec.deviceOS), modules: installed,
                                        clock: dfu.clock)
        normal = next
        mode = .normal
    }
}
