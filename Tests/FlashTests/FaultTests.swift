import Clocks
import DFU
import DeviceEmulator
import FirmwareModules
import Seams
import Station
import Testing

/// Every injected fault: the specific error, the state the device is left in, and a retry
/// that succeeds.
@Suite struct FaultTests {
    func flash(_ bench: Bench, _ set: FixtureSet) async throws -> [StepOutcome] {
        try await FlashExecutor(session: bench.session).run(try await bench.plan(set))
    }

    func retrySucceeds(_ bench: Bench, _ set: FixtureSet) async throws {
        _ = try await flash(bench, set)
        let report = await bench.device.bootReport()
        #expect(report.bootable, "\(report)")
    }

    func expectFailure(_ bench: Bench, _ set: FixtureSet, _ check: (DFUError) -> Bool) async -> DFUError? {
        do {
            _ = try await flash(bench, set)
            Issue.record("the flash succeeded despite the fault")
            return nil
        } catch let error as DFUError {
            #expect(check(error), "\(error)")
            #expect(!error.code.isEmpty && error.description.contains(bench.device.deviceName))
            return error
        } catch {
            Issue.record("not a DFU error: \(error)")
            return nil
        }
    }

    @Test func unplugMidWrite() async throws {
        let set = try FixtureSet.named("boron")
        let bench = try Bench(set, faults: [.unplugAfterChunk(5)])
        let error = await expectFailure(bench, set) { $0.kind == .transfer(.noDevice) }
        #expect(error?.code.hasSuffix("NO-DEVICE") == true)
        #expect(await bench.device.presence == .detached)
        await bench.device.replug()
        try await retrySucceeds(bench, set)
    }

    @Test func stallAtBlock() async throws {
        let set = try FixtureSet.named("b5som")
        let bench = try Bench(set, faults: [.stallAtChunk(3)])
        _ = await expectFailure(bench, set) { $0.kind == .transfer(.stall) && $0.operation == "write" }
        #expect(await bench.device.dfuState == .error, "a STALL leaves the device in dfuERROR")
        try await retrySucceeds(bench, set)  // CLRSTATUS first
    }

    @Test func statusErrorAtBlock() async throws {
        let set = try FixtureSet.named("electron")
        let bench = try Bench(set, faults: [.statusErrorAtChunk(4, .errWrite)])
        let error = await expectFailure(bench, set) { $0.kind == .status(.errWrite) && $0.address != nil }
        #expect(error?.status == .errWrite && error?.state == .error)
        #expect(await bench.device.dfuState == .idle, "the engine clears the status so the device is recoverable")
        try await retrySucceeds(bench, set)
    }

    @Test func lyingStatusIsCaughtByVerification() async throws {
        let set = try FixtureSet.named("bsom")
        let bench = try Bench(set, faults: [.lyingStatusAtChunk(2)])
        let error = await expectFailure(bench, set) { if case .verifyMismatch = $0.kind { true } else { false } }
        #expect(error?.operation.contains("bsom-softdevice@4.1.0.bin") == true)
        #expect(error?.address != nil)
        #expect(await bench.device.bootReport().bootable == false)
        try await retrySucceeds(bench, set)
    }

    @Test func powerLossMidErase() async throws {
        let set = try FixtureSet.named("tracker")
        let bench = try Bench(set, faults: [.powerLossAtErase(3)])
        _ = await expectFailure(bench, set) { $0.kind == .transfer(.noDevice) && $0.operation == "erase" }
        #expect(await bench.device.presence == .detached)
        await bench.device.replug()
        try await retrySucceeds(bench, set)
    }

    @Test func slowStatusIsHonoured() async throws {
        let set = try FixtureSet.named("esomx")
        let clock = ImmediateClock()
        let device = try EmulatedDFUDevice(
            .init(platform: set.platform, deviceID: "e00fce68ae40e8a1f5b4c2d3", timing: .nrf52840, faults: [.slowStatus(.milliseconds(200))]),
            clock: clock, preload: set.preload)
        let session = DfuSeSession(transport: device, clock: clock, layout: try DfuSeLayout(set.platform.dfuAltSettings![0].layout))
        let start = clock.now
        try await session.erase(page: 0xB4000)
        try await session.write([1, 2, 3, 4], at: 0xB4000)
        let elapsed = start.duration(to: clock.now)
        // Erase and one write each report bwPollTimeout 200 ms; the engine waits it out.
        #expect(elapsed >= .milliseconds(400), "\(elapsed)")
        #expect(await device.peek(at: 0xB4000, count: 4) == [1, 2, 3, 4])
    }

    @Test func cancellationAbortsToIdle() async throws {
        let set = try FixtureSet.named("boron")
        let bench = try Bench(set)
        let session = bench.session
        let task = Task { () async throws in
            try await session.write([UInt8](repeating: 0x11, count: 64 * 1024), at: 0xB4000) { done in
                if done >= 8192 { withUnsafeCurrentTask { $0?.cancel() } }
            }
        }
        let result = await task.result
        guard case .failure(let failure) = result, let error = failure as? DFUError else {
            Issue.record("the write was not cancelled")
            return
        }
        #expect(error.kind == .cancelled)
        #expect(await bench.device.dfuState == .idle)
        // A new write after cancellation works.
        try await session.write([1, 2, 3, 4], at: 0xC0000)
    }

    @Test func leaveTreatsDisappearanceAsSuccess() async throws {
        let set = try FixtureSet.named("electron")
        let bench = try Bench(set)
        #expect(try await bench.session.leave() == .acknowledged(.downloadIdle))
        #expect(await bench.device.presence == .leftDFU)
        // A Gen 3 device that resets before answering.
        let boron = try Bench(try FixtureSet.named("boron"), faults: [.vanishOnLeave])
        #expect(try await boron.session.leave() == .disappeared)
        #expect(await boron.device.presence == .leftDFU)
        let tracker = try Bench(try FixtureSet.named("tracker"))
        #expect(try await tracker.session.leave() == .acknowledged(.manifest))
    }
}

/// The lab's fault specs (`lab/README.md`: `unplug@5`, ...), parsed in one place for
/// `station lab serve --device` and spec files alike.
@Suite struct FaultSpecTests {
    @Test(arguments: [
        ("unplug@5", Fault.unplugAfterChunk(5)), ("stall@3", .stallAtChunk(3)), ("status@2", .statusErrorAtChunk(2, .errWrite)),
        ("lying@4", .lyingStatusAtChunk(4)), ("hang@6", .hangAtChunk(6, .seconds(8))), ("powerloss@1", .powerLossAtErase(1)),
    ])
    func eachSpecIsItsFault(text: String, fault: Fault) throws {
        #expect(try Fault(spec: text) == fault)
    }

    @Test(arguments: ["unplug", "unplug@0", "unplug@-1", "unplug@x", "melt@3", "stall@3@4", ""])
    func aBadSpecSaysWhatIsWrong(text: String) {
        #expect(throws: FaultSpecError.self) { try Fault(spec: text) }
    }

    @Test func aListKeepsItsOrder() throws {
        #expect(try Fault.list(spec: "stall@3,unplug@5") == [.stallAtChunk(3), .unplugAfterChunk(5)])
        do {
            _ = try Fault.list(spec: "stall@3,melt@1")
            Issue.record("a list with an unknown fault parsed")
        } catch {
            #expect(error.description == "fault 'melt@1': unknown; use unplug, stall, status, lying, hang or powerloss")
        }
    }
}
