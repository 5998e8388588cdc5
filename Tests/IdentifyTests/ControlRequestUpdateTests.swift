import Clocks
import ControlRequests
import DeviceEmulator
import FirmwareModules
import Foundation
import ParticleDevices
import Seams
import Station
import Testing

/// A bench slot in process: the device resets after an accepted update and comes back as a
/// new normal-mode personality holding the applied module (unless `applies` is false).
actor ResettingSlot {
    let platform: Platform
    let profile = TestIdentities.profile()
    let applies: Bool
    private(set) var device: EmulatedNormalDevice
    private(set) var comebacks = 0

    init(platform: Platform, modules: [EmulatedModule], os: String = "6.2.0", applies: Bool = true) {
        self.platform = platform
        self.applies = applies
        device = EmulatedNormalDevice(platform: platform, profile: profile, deviceOS: os, modules: modules, resetDelay: .milliseconds(100))
    }

    /// What the station reaches: the device now (a new one after a reset).
    func current() async throws -> ControlRequests {
        if await !device.isAttached {
            guard await device.pendingReset == .reset else { throw USBTransferError.noDevice }
            var modules = await device.modules
            if applies {
                for update in await device.acceptedUpdates {
                    let applied = EmulatedModule(update)
                    modules.removeAll { $0.function == applied.function && $0.index == applied.index }
                    modules.append(applied)
                }
            }
            device = EmulatedNormalDevice(platform: platform, profile: profile, deviceOS: await device.deviceOS.description, modules: modules)
            comebacks += 1
        }
        return ControlRequests(channel: ControlChannel(transport: device, clock: ImmediateClock()))
    }
}

@Suite struct ControlRequestUpdateTests {
    let boron = PlatformCatalog.bundled.platform(named: "boron")!

    func step(_ module: FirmwareModule) -> FlashStep {
        FlashStep(name: "bootloader.bin", kind: .module(module.header.identity), path: .controlRequest, address: module.header.startAddress,
                  bytes: Array(module.bytes), reason: "newer bootloader")
    }

    @Test func aBootloaderIsUpdatedThroughControlRequestsAndVerifiedByModuleInfo() async throws {
        let old = EmulatedModule(function: .bootloader, index: 0, version: 3100, size: 49_152)
        let slot = ResettingSlot(platform: boron, modules: [old])
        let boot = try ModuleFactory.bootloader(boron, version: 3200)
        let log = EventLog()
        let update = ControlRequestUpdate(clock: ContinuousClock(), comeBackWithin: .seconds(10))
        let requests = try await update.run([step(boot)], connect: { try await slot.current() }) { log.add($0) }
        #expect(await slot.comebacks == 1)
        let modules = try await requests.modules()
        #expect(modules.contains { $0.function == .bootloader && $0.version == 3200 && $0.isValid })
        #expect(log.all.contains(.verified(step: "bootloader.bin", module: boot.header.identity)))
        let sent = log.all.compactMap { if case .sent(_, let bytes, _) = $0 { bytes } else { nil } }
        #expect(sent.last == boot.bytes.count && sent.count == (boot.bytes.count + 1023) / 1024)
        #expect(try await requests.isListening(), "back in listening mode after the reset: it stays off the cloud")
    }

    @Test func anUpdateTheDeviceDidNotApplyIsAnError() async throws {
        let slot = ResettingSlot(platform: boron, modules: [EmulatedModule(function: .bootloader, index: 0, version: 3100, size: 49_152)], applies: false)
        let boot = try ModuleFactory.bootloader(boron, version: 3200)
        let update = ControlRequestUpdate(clock: ContinuousClock(), comeBackWithin: .seconds(10))
        await #expect { _ = try await update.run([step(boot)], connect: { try await slot.current() }) { _ in } } throws: { error in
            guard let error = error as? ControlUpdateError else { return false }
            return error.code == "UPDATE-NOT-APPLIED" && error.message.contains("still reports bootloader version 3100")
        }
    }

    @Test func aDeviceThatDoesNotComeBackIsAnErrorSayingWhatToDo() async throws {
        let update = ControlRequestUpdate(clock: ContinuousClock(), comeBackWithin: .milliseconds(600))
        await #expect { _ = try await update.run([], connect: { throw USBTransferError.noDevice }) { _ in } } throws: { error in
            (error as? ControlUpdateError)?.code == "UPDATE-DEVICE-GONE" && "\(error)".contains("replug")
        }
    }

    @Test(arguments: [("boron", "3.3.0", true), ("boron", "4.0.0", false), ("tracker", "2.2.0", true), ("electron", "2.3.1", false)])
    func setupDoneIsSetOnGen3BelowDeviceOS4(platform name: String, os: String, sets: Bool) async throws {
        let platform = PlatformCatalog.bundled.platform(named: name)!
        let device = EmulatedNormalDevice(platform: platform, profile: TestIdentities.profile(), deviceOS: os, setupDone: false)
        let requests = ControlRequests(channel: ControlChannel(transport: device, clock: ImmediateClock()))
        let set = try await ControlRequestUpdate(clock: ContinuousClock()).markSetupDone(requests, platform: platform)
        #expect((set != nil) == sets)
        if sets { #expect(await device.setupDone) }
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [ControlUpdateEvent] = []
    func add(_ event: ControlUpdateEvent) { lock.withLock { items.append(event) } }
    var all: [ControlUpdateEvent] { lock.withLock { items } }
}
