import DFU
import DeviceEmulator
import Foundation
import Seams
import Station
import Testing

/// A flash recorded against the emulator replays identically, and a replay that meets a
/// different request fails with "expected X, got Y".
@Suite struct RecordReplayTests {
    @Test func recordedFlashReplaysAndDivergenceIsNamed() async throws {
        let set = try FixtureSet.named("electron")
        let bench = try Bench(set)
        let recorder = RecordingTransport(bench.device)
        let recordedSession = DfuSeSession(transport: recorder, clock: ContinuousClock(), layout: bench.session.layout)
        let plan = try FlashPlanner.plan(Array(set.flash.suffix(1)), platform: set.platform, layout: bench.session.layout,
                                         installed: [.init(identity: .init(function: .systemPart, index: 2, version: 2302), address: 0)])
        _ = try await FlashExecutor(session: recordedSession).run(plan)
        let recording = await recorder.recording
        #expect(recording.transfers.count > 10)

        // Readable JSON that round-trips.
        let json = try JSONEncoder().encode(recording)
        #expect(String(decoding: json, as: UTF8.self).contains("\"bRequest\""))
        let decoded = try JSONDecoder().decode(ControlRecording.self, from: json)
        #expect(decoded == recording)

        // The same run against the replay succeeds and plays every transfer.
        let replay = ReplayTransport(decoded)
        let replaySession = DfuSeSession(transport: replay, clock: ContinuousClock(), layout: bench.session.layout)
        _ = try await FlashExecutor(session: replaySession).run(plan)
        #expect(await replay.finished)

        // A different request: the replay names what it expected.
        let strict = ReplayTransport(decoded)
        let other = DfuSeSession(transport: strict, clock: ContinuousClock(), layout: bench.session.layout)
        await #expect { try await other.setAddress(0x0808_1000) } throws: { error in
            guard let error = error as? DFUError, case .transfer(.replayMismatch(let message)) = error.kind else { return false }
            return message.contains("expected") && message.contains("got")
        }
    }
}
