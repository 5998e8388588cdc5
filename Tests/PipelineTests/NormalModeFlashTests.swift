import Foundation
import ControlRequests
import DFU
import DeviceEmulator
import EmulatedBench
import FirmwareModules
import ParticleDevices
import Station
import TestSupport
import Testing

/// `station flash` on a normal-mode device is one library call: an emulated Boron on Device OS
/// 5.9.0 gets 6.2.0 and a product firmware; the call puts it in listening mode, plans against
/// its module info, runs what needs control requests, and hands back a DFU session with the
/// rest, which `PreparedFlash` writes; the device then boots what was written. On a
/// `FastClock` (the device's timing too).
@Suite(.serialized) struct NormalModeFlashTests {
    /// A Boron on Device OS 5.9.0 plugged into an in-process bench (active SIM), and the 6.2.0
    /// release with product firmware 4242 v2.
    static func boronOn590(clock: FastClock, deviceOS: String = "5.9.0", protection: DeviceProtection = .open) async throws -> (Platform, EmulatedBench, DeviceID, [(name: String, module: FirmwareModule)]) {
        let boron = try #require(PlatformCatalog.bundled.platform(named: "boron"))
        var profile = TestIdentities.profile()
        profile.simActive = true
        // 1.5 s of real time on the test clock for the listening mode to stop it.
        profile.cloudConnectDelay = .seconds(30)
        profile.protection = protection
        let spec = BenchDevice(platform: boron, mode: .normal, profile: profile, deviceOS: deviceOS, preload: [.deviceOS])
        let bench = try EmulatedBench([(spec, try spec.modules(files: [:]))], clock: clock)
        await bench.plug(0)
        return (boron, bench, profile.deviceID, try DemoFirmware.release(boron, deviceOS: "6.2.0", product: (id: 4242, version: 2)))
    }

    @Test func aNormalModeBoronIsListeningPlannedAndHandedOverInDFUMode() async throws {
        let clock = FastClock()
        let (boron, bench, id, release) = try await Self.boronOn590(clock: clock)
        let modules = release.map { PlannedModule(name: $0.name, module: $0.module) }
        let seen = EventLog()
        // Generous bounds: this asserts what happens, not how fast (a loaded machine is slow).
        let outcome = try await NormalModeFlash(clock: clock, dfuWithin: .seconds(120)).run(
            modules, platform: boron, expectedProductID: 4242,
            connect: { try await bench.normal(id, within: .seconds(60)) },
            openDFU: { deviceID in
                guard let id = try? DeviceID(deviceID) else { return nil }
                return try? await bench.dfu(id, within: .milliseconds(1))
            },
            events: { seen.append($0) })
        let events = seen.all
        guard case .listening(let reported) = events.first else { Issue.record("first event: \(events)"); return }
        #expect(reported == id.rawValue)
        #expect(events.contains { if case .planned = $0 { true } else { false } })
        #expect(events.contains { if case .switchingToDFU = $0 { true } else { false } })
        guard case .dfu(let deviceID, let session, let left) = outcome else { Issue.record("stayed in normal mode: \(events)"); return }
        #expect(deviceID == id.rawValue && !left.isEmpty && left.allSatisfy { item in modules.contains { $0.name == item.name } })
        let prepared = try await PreparedFlash.prepare(left, session: session, platform: boron, extra: [], expectedProductID: 4242)
        _ = try await prepared.run(on: session) { _ in }
        _ = try await session.leave()
        // It boots what was written: module info shows Device OS 6.2.0's system part, valid.
        let requests = try await bench.normal(id, within: .seconds(60))
        let after = try await requests.modules()
        #expect(after.contains { $0.function == .systemPart && $0.version == 6200 && $0.isValid }, "\(after)")
        #expect(await bench.anyConnected().isEmpty, "it never connected")
        await bench.stop()
    }

    /// A protected unit (request 76) is refused before its plan, with PLAN-PROTECTED, and
    /// nothing is sent to it; a Service Mode one only where the line allows it.
    @Test(arguments: [(DeviceProtection.protected, false), (.protected, true), (.service, false)])
    func aUnitUSBMayNotWriteIsRefusedBeforeItsPlan(protection: DeviceProtection, allowServiceMode: Bool) async throws {
        let clock = FastClock()
        let (boron, bench, id, release) = try await Self.boronOn590(clock: clock, deviceOS: "6.2.0", protection: protection)
        let seen = EventLog()
        do {
            _ = try await NormalModeFlash(clock: clock, allowServiceMode: allowServiceMode).run(
                release.map { PlannedModule(name: $0.name, module: $0.module) }, platform: boron, expectedProductID: 4242,
                connect: { try await bench.normal(id, within: .seconds(60)) }, openDFU: { _ in nil }, events: { seen.append($0) })
            Issue.record("a \(protection) unit was flashed")
        } catch {
            guard case .refused(let refusal) = error else { Issue.record("\(error)"); return }
            #expect(refusal.code == "PLAN-PROTECTED")
        }
        #expect(!seen.all.contains { if case .planned = $0 { true } else { false } }, "refused before the plan")
        #expect(await bench.presence(id) == .normal)
        await bench.stop()
    }

    /// A plan the planner refuses (another product's firmware) stops before anything is
    /// written, with the planner's code, and the device stays in listening mode.
    @Test func aRefusedPlanWritesNothing() async throws {
        let clock = FastClock()
        let (boron, bench, id, release) = try await Self.boronOn590(clock: clock)
        do {
            _ = try await NormalModeFlash(clock: clock).run(
                release.map { PlannedModule(name: $0.name, module: $0.module) }, platform: boron, expectedProductID: 9999,
                connect: { try await bench.normal(id, within: .seconds(60)) },
                openDFU: { _ in nil }, events: { _ in })
            Issue.record("a product firmware for 4242 was accepted for product 9999")
        } catch {
            guard case .refused(let refusal) = error else { Issue.record("\(error)"); return }
            #expect(refusal.code.hasPrefix("PLAN-"), "\(refusal.code)")
        }
        #expect(await bench.presence(id) == .normal)
        await bench.stop()
    }
}

/// Events collected from a `@Sendable` callback.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [NormalModeFlash<FastClock>.Event] = []
    func append(_ event: NormalModeFlash<FastClock>.Event) { lock.withLock { events.append(event) } }
    var all: [NormalModeFlash<FastClock>.Event] { lock.withLock { events } }
}
