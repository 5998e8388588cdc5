import Clocks
import ControlRequests
import DeviceEmulator
import Foundation
import ParticleDevices
import Seams
import Station
import Testing

/// The no-cloud guard against emulated devices with an active SIM and a cloud timer.
@Suite struct NoCloudGuardTests {
    let boron = PlatformCatalog.bundled.platform(named: "boron")!

    func device(clock: some Clock<Duration>, delay: Duration = .seconds(5)) -> EmulatedNormalDevice {
        var profile = TestIdentities.profile()
        profile.simActive = true
        profile.cloudConnectDelay = delay
        return EmulatedNormalDevice(platform: boron, profile: profile, deviceOS: "6.2.0", clock: clock)
    }

    func channels(_ device: EmulatedNormalDevice) -> @Sendable () async throws -> (ControlRequests, LegacyRequests?) {
        { (ControlRequests(channel: ControlChannel(transport: device, clock: ImmediateClock())), LegacyRequests(transport: device)) }
    }

    /// Advances a second at a time (a timer may register its sleep a moment late).
    func advance(_ clock: TestClock<Duration>, seconds: Int) async {
        for _ in 0..<seconds {
            await clock.advance(by: .seconds(1))
            for _ in 0..<20 { await Task.yield() }
        }
    }

    @Test func aGuardedDeviceNeverConnectsAndAnUnguardedOneDoes() async throws {
        let clock = TestClock()
        let guarded = device(clock: clock), alone = device(clock: clock)
        await guarded.powerOn()
        await alone.powerOn()
        let report = await NoCloudGuard(clock: clock).stop(port: "1-1", arrivedAt: clock.now, open: channels(guarded))
        #expect(report.action == .listening && report.withinBound && report.stopped)
        await advance(clock, seconds: 8)
        #expect(await !guarded.connected)
        let kinds = await guarded.events.map(\.kind).filter { if case .request = $0 { false } else { true } }
        #expect(kinds == [.arrived, .cloudAttemptStarted, .stopped("listening mode")])
        #expect(await alone.connected, "the check can fail: left alone, the same kind of device connects")
    }

    @Test func aDeviceThatCannotBeOpenedAtOnceIsRetriedAndTheLatencyCounts() async throws {
        let clock = ContinuousClock()
        let target = device(clock: clock)
        await target.powerOn()
        let failures = Counter()
        let arrived = clock.now
        // A generous give-up time: a loaded test machine must not turn a retry into a failure.
        let report = await NoCloudGuard(policy: NoCloudPolicy(giveUpAfter: .seconds(120)), clock: clock).stop(port: "1-1", arrivedAt: arrived) {
            if failures.next() < 3 { throw USBTransferError.noDevice }
            return (ControlRequests(channel: ControlChannel(transport: target, clock: ImmediateClock())), nil)
        }
        #expect(report.action == .listening)
        #expect(report.latency >= .milliseconds(20 + 40 + 80), "three back-offs before it answered")
        #expect(await target.listening)
    }

    @Test func aDeviceThatNeverAnswersIsAFailureNamingWhatToDo() async throws {
        let policy = NoCloudPolicy(giveUpAfter: .milliseconds(300))
        let report = await NoCloudGuard(policy: policy, clock: ContinuousClock()).stop(port: "1-4", arrivedAt: ContinuousClock.now) {
            throw USBTransferError.noDevice
        }
        guard case .failed(let code, let message) = report.action else { Issue.record("\(report)"); return }
        #expect(code == "GUARD-UNREACHABLE" && message.contains("could not open"))
        #expect(!report.stopped && !report.withinBound)
    }

    /// A protected unit refuses listening mode (-1801) and the legacy cloud abort: the guard
    /// says at once that it cannot stop it (GUARD-PROTECTED, to the online rework bench),
    /// without retrying until it gives up; a Service Mode unit is stopped like any other.
    @Test func aProtectedUnitIsReportedAtOnceAsOneTheGuardCannotStop() async throws {
        var profile = TestIdentities.profile()
        profile.simActive = true
        profile.protection = .protected
        let clock = TestClock()
        let unit = EmulatedNormalDevice(platform: boron, profile: profile, deviceOS: "6.2.0", clock: clock)
        await unit.powerOn()
        let report = await NoCloudGuard(clock: clock).stop(port: "1-5", arrivedAt: clock.now, open: channels(unit))
        guard case .failed(let code, let message) = report.action else { Issue.record("\(report)"); return }
        #expect(code == "GUARD-PROTECTED" && message.contains("online rework bench") && !report.stopped)
        #expect(report.latency == .zero, "no retries on the test clock")
        profile.protection = .service
        let service = EmulatedNormalDevice(platform: boron, profile: profile, deviceOS: "6.2.0", clock: clock)
        #expect(await NoCloudGuard(clock: clock).stop(port: "1-6", arrivedAt: clock.now, open: channels(service)).action == .listening)
    }

    @Test func theConnectivityTestLineLetsDevicesConnect() async throws {
        let clock = TestClock()
        let target = device(clock: clock)
        await target.powerOn()
        let report = await NoCloudGuard(policy: NoCloudPolicy(connectivityTest: true), clock: clock).stop(port: "1-1", arrivedAt: clock.now, open: channels(target))
        #expect(report.action == .allowed && !report.stopped)
        await advance(clock, seconds: 6)
        #expect(await target.connected)
    }

    @Test func holdPutsADeviceBackInListeningMode() async throws {
        let clock = TestClock()
        let target = device(clock: clock, delay: .seconds(60))
        await target.powerOn()
        let requests = ControlRequests(channel: ControlChannel(transport: target, clock: ImmediateClock()))
        let guardian = NoCloudGuard(clock: clock)
        _ = await guardian.stop(port: "1-1", arrivedAt: clock.now, open: channels(target))
        let notes = Notes()
        let holding = Task { await guardian.hold(requests) { notes.add($0) } }
        try await requests.stopListening()  // someone pressed a button
        #expect(await !target.listening)
        await advance(clock, seconds: 3)
        #expect(await target.listening)
        #expect(notes.all.contains { $0.contains("listening again") })
        holding.cancel()
    }

    @Test(arguments: NoCloudPolicy.FinalState.allCases)
    func theFinalStateIsApplied(state: NoCloudPolicy.FinalState) async throws {
        let target = device(clock: ContinuousClock(), delay: .seconds(60))
        let requests = ControlRequests(channel: ControlChannel(transport: target, clock: ImmediateClock()))
        try await NoCloudGuard(policy: NoCloudPolicy(finalState: state), clock: ContinuousClock()).leave(requests)
        switch state {
        case .dfu: #expect(await target.pendingReset == .dfu)
        case .listening: #expect(await target.listening)
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { defer { value += 1 }; return value } }
}

final class Notes: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ note: String) { lock.withLock { items.append(note) } }
    var all: [String] { lock.withLock { items } }
}
