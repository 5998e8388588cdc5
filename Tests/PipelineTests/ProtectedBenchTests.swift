import DeviceEmulator
import EmulatedBench
import FirmwareModules
import Foundation
import ParticleDevices
import Station
import StationReports
import StationStore
import TestSupport
import Testing

/// Device Protection through the whole pipeline on the emulated bench: a protected unit is
/// routed to rework before anything is written, whether it arrives in DFU mode (0xFA, or
/// every segment `b` before 6.1.2) or in normal mode (it answers only its device ID and its
/// protection state); a Service Mode unit is refused unless the line allows it, and then
/// flashed with the protected product's release. Records and the report count protected
/// units apart from the bench's failures. Nothing connects that the station could stop.
@Suite(.serialized) struct ProtectedBenchTests {
    let bench = BenchDriverTests()

    static func unit(_ protection: DeviceProtection, mode: DeviceProfile.Mode, os: String = "6.2.0") throws -> (BenchDevice, [FirmwareModule]) {
        var (spec, modules) = try BenchDriverTests.device("boron", os: os)
        spec.mode = mode
        spec.profile.protection = protection
        return (spec, modules)
    }

    static func protectedManifests() throws -> [String: FirmwareManifest] {
        let files = try DemoFirmware.release(BenchDriverTests.platform("boron"), deviceOS: "6.2.0", product: (id: 4242, version: 2), deviceProtection: true)
        return ["boron": try FirmwareManifest.create(name: "protected-boron", files: files.map { ($0.name, Array($0.module.bytes)) }, deviceProtection: true)]
    }

    /// 6.2.0: the bootloader says `sm=p` in 0xFA; 6.1.1: it has no 0xFA, every segment is `b`.
    @Test(arguments: ["6.2.0", "6.1.1"])
    func aProtectedUnitInDFUModeIsRoutedToReworkAndNeverWritten(os: String) async throws {
        let run = try await bench.start([try Self.unit(.protected, mode: .dfu, os: os)])
        await run.bench.plug(0)
        await bench.waitUntilDone(run, count: 1)
        let job = try #require(await run.driver.jobs.first)
        #expect(job.step == .failed && job.failure?.code == "PLAN-PROTECTED", "\(job.failure.map { "\($0)" } ?? "")")
        #expect(job.failure?.message.contains("online rework bench") == true)
        #expect(FailureTable.entry(for: "PLAN-PROTECTED")?.next == .routeToOnlineRework)
        // Nothing written; nothing read either: the emulator STALLs a protected unit's
        // uploads, and a read tried would have failed the job with IDENTIFY-DFU instead.
        let counters = await run.bench.flashCounters(0)
        #expect(counters.pagesErased == 0 && counters.bytesProgrammed == 0, "nothing written: \(counters)")
        // It was never asked to scan, and stays in DFU mode (no firmware runs: it cannot connect).
        #expect(!job.stepLog.contains { $0.step == .waitingForScan || $0.step == .flashing })
        #expect(await run.bench.presence(job.deviceID) == .dfu)
        let records = try run.store.records()
        #expect(records.count == 1 && records[0].protection == "protected" && records[0].failureCode == "PLAN-PROTECTED")
        let report = LineReport(records: records)
        #expect(report.protected == 1 && report.failed == 0 && report.passed == 0 && report.failuresByCode.isEmpty, "\(report.failuresByCode)")
        #expect(report.csv().contains(",PROTECTED,PLAN-PROTECTED,"))
        await bench.letCloudTimersRunOut(run)
        #expect(await run.bench.anyConnected().isEmpty)
        await run.bench.stop()
    }

    @Test func aServiceModeUnitIsRefusedWhereTheLineDoesNotFlashThem() async throws {
        let run = try await bench.start([try Self.unit(.service, mode: .normal)], manifests: try Self.protectedManifests())
        await run.bench.plug(0)
        await bench.waitUntilDone(run, count: 1)
        let job = try #require(await run.driver.jobs.first)
        #expect(job.failure?.code == "PLAN-PROTECTED" && job.failure?.message.contains("allow_service_mode") == true, "\(job.failure.map { "\($0)" } ?? "")")
        #expect(!job.stepLog.contains { $0.step == .flashing })
        #expect(await run.bench.flashCounters(0).bytesProgrammed == 0)
        #expect(try run.store.records().first?.protection == "service")
        await bench.letCloudTimersRunOut(run)
        #expect(await run.bench.anyConnected().isEmpty, "the guard kept it off the cloud")
        await run.bench.stop()
    }

    @Test func aServiceModeUnitIsFlashedWhereTheLineAllowsItAndItsRecordSaysSo() async throws {
        let run = try await bench.start([try Self.unit(.service, mode: .normal)], policy: BenchPolicy(allowServiceMode: true), manifests: try Self.protectedManifests())
        await run.bench.plug(0)
        await run.driver.scanned(run.specs[0].profile.serial?.rawValue ?? "")
        await bench.waitUntilDone(run, count: 1)
        let job = try #require(await run.driver.jobs.first)
        #expect(job.step == .passed, "\(job.failure.map { "\($0)" } ?? "")")
        let records = try run.store.records()
        #expect(records.count == 1 && records[0].passed && records[0].protection == "service")
        #expect(records[0].modulesAfter.contains { $0.function == "systemPart" && $0.version == 6200 })
        await bench.letCloudTimersRunOut(run)
        #expect(await run.bench.anyConnected().isEmpty)
        await run.bench.stop()
    }

    /// On the open product's release (open bootloader), a Service Mode unit is not flashed
    /// even where the line allows Service Mode: written, the bootloader would unprotect it.
    @Test func aServiceModeUnitIsNotGivenTheOpenRelease() async throws {
        let run = try await bench.start([try Self.unit(.service, mode: .normal)], policy: BenchPolicy(allowServiceMode: true))
        await run.bench.plug(0)
        await run.driver.scanned(run.specs[0].profile.serial?.rawValue ?? "")
        await bench.waitUntilDone(run, count: 1)
        let job = try #require(await run.driver.jobs.first)
        #expect(job.failure?.code == "PLAN-PROTECTED-FIRMWARE", "\(job.failure.map { "\($0)" } ?? "")")
        #expect(await run.bench.flashCounters(0).bytesProgrammed == 0)
        await run.bench.stop()
    }

    /// In normal mode a protected unit answers only its device ID and protection state
    /// (-1801 to listening mode): the guard cannot stop it, says so at once, and the job is
    /// routed to rework with what to do now.
    @Test func aProtectedUnitInNormalModeIsReportedAtOnce() async throws {
        let run = try await bench.start([try Self.unit(.protected, mode: .normal)])
        await run.bench.plug(0)
        await bench.waitUntilDone(run, count: 1)
        let job = try #require(await run.driver.jobs.first)
        #expect(job.failure?.code == "GUARD-PROTECTED" && job.failure?.message.contains("Unplug it now") == true, "\(job.failure.map { "\($0)" } ?? "")")
        #expect(FailureTable.entry(for: "GUARD-PROTECTED")?.next == .routeToOnlineRework)
        let records = try run.store.records()
        #expect(records.first?.protection == "protected")
        #expect(LineReport(records: records).protected == 1)
        #expect(await run.bench.flashCounters(0).bytesProgrammed == 0)
        await run.bench.stop()
    }
}
