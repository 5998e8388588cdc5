import Foundation
import Clocks
import ControlRequests
import DeviceEmulator
import FirmwareModules
import ParticleDevices
import Seams
import Testing

/// Control requests against the emulated normal-mode device: identities are random per
/// test, so station code and emulator cannot agree by accident.
@Suite struct EmulatedControlTests {
    let boron = PlatformCatalog.bundled.platform(named: "boron")!

    func device(_ os: String = "6.2.0", profile: DeviceProfile = TestIdentities.profile(), modules: [EmulatedModule] = [], setupDone: Bool = true,
                clock: any Clock<Duration> = ImmediateClock()) -> EmulatedNormalDevice {
        EmulatedNormalDevice(platform: boron, profile: profile, deviceOS: os, modules: modules, setupDone: setupDone, clock: clock)
    }

    func requests(_ device: EmulatedNormalDevice) -> ControlRequests {
        ControlRequests(channel: ControlChannel(transport: device, clock: ImmediateClock()))
    }

    @Test func identityMatchesTheDevice() async throws {
        let profile = TestIdentities.profile()
        let requests = requests(device(profile: profile))
        #expect(try await requests.deviceID() == profile.deviceID.rawValue)
        #expect(try await requests.serialNumber() == profile.serial?.rawValue)
        #expect(try await requests.systemVersion() == "6.2.0")
        let cellular = try await requests.cellularIdentity()
        #expect(cellular.iccid == profile.iccid?.rawValue && cellular.imei == profile.imei?.rawValue)
        #expect(try await LegacyRequests(transport: device(profile: profile)).deviceID() == profile.deviceID.rawValue)
    }

    @Test(arguments: [("5.7.0", false), ("5.8.0", true), ("6.0.0", false), ("6.1.0", true), ("6.2.0", true)])
    func imeiComesWith554OnlyFromTheReleasesThatCarryIt(os: String, hasIMEI: Bool) async throws {
        let profile = TestIdentities.profile()
        let cellular = try await requests(device(os, profile: profile)).cellularIdentity()
        #expect(cellular.iccid == profile.iccid?.rawValue)
        #expect((cellular.imei != nil) == hasIMEI)
    }

    /// Request 76 comes with Device Protection (Device OS 6): older releases answer
    /// NOT_SUPPORTED.
    @Test(arguments: [DeviceProtection.open, .protected, .service])
    func request76ReportsTheProtectionState(protection: DeviceProtection) async throws {
        var profile = TestIdentities.profile()
        profile.protection = protection
        let reply = try await requests(device("6.2.0", profile: profile)).protectedState()
        #expect(DeviceProtection(protectedState: reply.state, overridden: reply.overridden) == protection)
        await #expect { try await requests(device("5.9.0", profile: profile)).protectedState() } throws: { ($0 as? ControlRequestError)?.code == "CTRL-NOT-SUPPORTED" }
    }

    /// A protected unit answers over USB only what Device Protection lets through (device ID
    /// 20, protection state 76): listening mode, the serial number, module info and DFU get
    /// -1801 DEVICE_PROTECTED, as Device OS's `security_mode_check_control_request` does;
    /// the legacy path STALLs. In Service Mode everything answers.
    @Test func aProtectedUnitRefusesAllButItsIDAndItsState() async throws {
        var profile = TestIdentities.profile()
        profile.protection = .protected
        let unit = device("6.2.0", profile: profile)
        let requests = requests(unit)
        #expect(try await requests.deviceID() == profile.deviceID.rawValue)
        let state = try await requests.protectedState()
        #expect(DeviceProtection(protectedState: state.state, overridden: state.overridden) == .protected)
        for (what, call) in [("start listening", { try await requests.startListening() }), ("serial", { _ = try await requests.serialNumber() }),
                             ("modules", { _ = try await requests.modules() }), ("dfu", { try await requests.enterDFU() })] as [(String, () async throws -> Void)] {
            do {
                try await call()
                Issue.record("\(what) was answered")
            } catch {
                let error = error as? ControlRequestError
                #expect(error?.code == "CTRL-DEVICE-PROTECTED" && error?.isDeviceProtected == true, "\(what): \(String(describing: error))")
            }
        }
        #expect(await unit.listening == false)
        await #expect(throws: ControlRequestError.self) { try await LegacyRequests(transport: unit).abortCloudConnection() }
        profile.protection = .service
        try await self.requests(device("6.2.0", profile: profile)).startListening()
    }

    @Test func setupDoneBeforeAndAfter4() async throws {
        let old = device("3.3.1", setupDone: false)
        #expect(try await requests(old).isSetupDone() == false)
        try await requests(old).setSetupDone()
        #expect(try await requests(old).isSetupDone())
        let new = device("4.0.0", setupDone: false)
        try await requests(new).setSetupDone(true)
        #expect(try await requests(new).isSetupDone(), "74 always true from 4.0.0")
        await #expect { try await requests(new).setSetupDone(false) } throws: { ($0 as? ControlRequestError)?.code == "CTRL-NOT-SUPPORTED" }
    }

    @Test func moduleInfoReportsValidity() async throws {
        let modules = [
            EmulatedModule(function: .systemPart, index: 1, version: 6200, size: 600_000, dependencies: [ModuleDependency(function: .bootloader, index: 0, version: 3100)]),
            EmulatedModule(function: .userPart, index: 2, version: 6, size: 40_000, valid: false),
        ]
        let reported = try await requests(device(modules: modules)).modules()
        #expect(reported.map(\.function) == [.systemPart, .userPart] && reported.map(\.version) == [6200, 6])
        #expect(reported[0].isValid && !reported[1].isValid && reported[1].failures == 0x02)
        #expect(reported[0].dependencies == modules[0].dependencies && reported[0].size == 600_000)
    }

    @Test func moreThanFourActiveRequestsAreBusy() async throws {
        let device = device()
        let channel = ControlChannel(transport: device, clock: ImmediateClock())
        for _ in 0..<4 {
            let reply = try await device.control(ControlSetup(requestType: 0xC0, request: 1, value: 100, index: 73, length: 64), data: [], timeout: .seconds(1))
            #expect(ServiceReply(bytes: reply)?.status == .pending, "a payload above 64 bytes is allocated first")
        }
        await #expect { _ = try await ControlRequests(channel: channel).deviceID() } throws: { ($0 as? ControlRequestError)?.code == "CTRL-BUSY" }
        await channel.reset()  // leftovers, as on open
        #expect(try await ControlRequests(channel: channel).systemVersion() == "6.2.0")
    }

    @Test func controlRequestFirmwareUpdateStagesThenResets() async throws {
        let boot = try ModuleFactory.bootloader(boron, version: 3200)
        let device = device()
        var progress: [Int] = []
        let recorder = ProgressRecorder()
        try await requests(device).updateFirmware(boot.bytes) { recorder.add($0) }
        progress = recorder.values
        #expect(progress.last == boot.bytes.count && progress.count == (boot.bytes.count + 1023) / 1024, "1024-byte chunks")
        #expect(await device.pendingReset == .reset)
        #expect(await device.acceptedUpdates.map(\.bytes) == [boot.bytes])
        // It resets after its reset delay (at once on this clock): it leaves the bus.
        for _ in 0..<200 where await device.isAttached { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await !device.isAttached)
        var corrupt = boot.bytes
        corrupt[100] ^= 0xFF
        let other = self.device()
        await #expect { try await requests(other).updateFirmware(corrupt) } throws: { ($0 as? ControlRequestError)?.code == "CTRL-BAD-DATA" }
        #expect(await other.acceptedUpdates.isEmpty)
        #expect(await other.pendingReset == nil)
        // A module for another platform is refused too.
        let electronBoot = try ModuleFactory.bootloader(PlatformCatalog.bundled.platform(named: "electron")!, version: 1000)
        await #expect { try await requests(other).updateFirmware(electronBoot.bytes) } throws: { ($0 as? ControlRequestError)?.code == "CTRL-BAD-DATA" }
    }

    @Test func aDeviceWithAnActiveSIMConnectsUnlessStopped() async throws {
        var profile = TestIdentities.profile()
        profile.simActive = true
        profile.cloudConnectDelay = .seconds(20)
        // Left alone: it connects after the delay.
        let clock = TestClock()
        let alone = device(profile: profile, clock: clock)
        await alone.powerOn()
        // Advance a second at a time: the timer's task may register its sleep on the test
        // clock a moment after powerOn returns, so one big advance could pass it by.
        for _ in 0..<19 { await clock.advance(by: .seconds(1)) }
        #expect(await alone.connected == false)
        for _ in 0..<400 where await !alone.connected {
            await clock.advance(by: .seconds(1))
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await alone.connected)
        // Put in listening mode first (request 70): stopped, never connects.
        let guarded = device(profile: profile, clock: clock)
        await guarded.powerOn()
        try await requests(guarded).startListening()
        #expect(try await requests(guarded).isListening())
        for _ in 0..<60 { await clock.advance(by: .seconds(1)) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(await guarded.connected == false)
        let kinds = await guarded.events.map(\.kind)
        #expect(kinds.contains(.stopped("listening mode")) && !kinds.contains(.connected))
        // No active SIM: it never tries.
        let inactive = device(profile: TestIdentities.profile(), clock: clock)
        await inactive.powerOn()
        #expect(await inactive.events.map(\.kind) == [.arrived])
    }
}

final class ProgressRecorder: @unchecked Sendable {
    private var items: [Int] = []
    private let lock = NSLock()
    func add(_ value: Int) { lock.withLock { items.append(value) } }
    var values: [Int] { lock.withLock { items } }
}
