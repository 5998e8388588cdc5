import DFU
import FirmwareModules

/// What happened to one step.
public struct StepOutcome: Hashable, Sendable {
    public enum Action: Hashable, Sendable {
        /// Read back byte-identical already: nothing erased or written.
        case skipped
        /// Erased and written the pages that differed, then verified by read-back.
        case written(pagesErased: Int, pagesWritten: Int)
        /// Handled by the control-request path, not here.
        case deferredToControlRequest
    }
    public let step: FlashStep
    public let action: Action
}

/// Progress as the executor reports it; the CLI renders it.
public enum FlashEvent: Sendable {
    case stepStarted(index: Int, of: Int, FlashStep)
    case phase(index: Int, name: String, done: Int, total: Int)
    case stepFinished(index: Int, StepOutcome)
}

/// Runs the DFU steps of a plan: for each module, compare what is there, erase and write only
/// the pages that differ (each erasable page once), then read back and compare before calling
/// it done. A module already byte-identical is skipped. What is there is read whole only when
/// its first bytes match the target: different content is rewritten without reading it first.
public struct FlashExecutor: Sendable {
    public let session: DfuSeSession

    public init(session: DfuSeSession) { self.session = session }

    /// - Parameter known: content read from the device moments ago in this session (the
    ///   inventory's read-back); a step it covers is compared without reading it again.
    /// - Throws: `DFUError` (a verify mismatch names the module's address).
    public func run(_ plan: FlashPlan, known: [ReadBack] = [], events: @Sendable (FlashEvent) -> Void = { _ in }) async throws(DFUError) -> [StepOutcome] {
        var outcomes: [StepOutcome] = []
        try await session.ensureIdle()
        for (index, step) in plan.steps.enumerated() {
            events(.stepStarted(index: index, of: plan.steps.count, step))
            let outcome: StepOutcome
            if step.path == .controlRequest {
                outcome = StepOutcome(step: step, action: .deferredToControlRequest)
            } else {
                outcome = try await flash(step, index: index, known: known, events: events)
            }
            events(.stepFinished(index: index, outcome))
            outcomes.append(outcome)
        }
        return outcomes
    }

    func flash(_ step: FlashStep, index: Int, known: [ReadBack], events: @Sendable (FlashEvent) -> Void) async throws(DFUError) -> StepOutcome {
        let total = step.bytes.count
        // What the device holds there, as far as it matters: nil means "differs from the first
        // bytes on", so every page is erased and written without reading the rest first. A
        // matching start (a re-flash, or a write that was interrupted) reads the whole range
        // and writes only the pages that differ.
        let current: [UInt8]?
        if let cached = known.lazy.compactMap({ $0.slice(step.address, count: total) }).first {
            current = cached
        } else {
            let probe: [UInt8]
            if let start = known.lazy.compactMap({ $0.suffix(from: step.address) }).first {
                probe = Array(start.prefix(total))
            } else {
                probe = try await session.read(at: step.address, count: min(total, session.transferSize))
            }
            if probe[...] != step.bytes.prefix(probe.count) {
                current = nil
            } else if probe.count == total {
                current = probe
            } else {
                let rest = try await session.read(at: step.address + UInt32(probe.count), count: total - probe.count) { done in
                    events(.phase(index: index, name: "read", done: probe.count + done, total: total))
                }
                current = probe + rest
            }
        }
        if current == step.bytes { return StepOutcome(step: step, action: .skipped) }

        // Pages whose content differs from the target: erase each once, write what belongs there.
        guard let pages = session.layout.pages(overlapping: UInt64(step.address), count: total) else {
            throw session.error("write", .notInLayout(reason: "\(step.name) does not fit the device's memory"), address: step.address)
        }
        var runs: [(offset: Int, count: Int)] = []
        var erased = 0
        for page in pages {
            let from = max(Int(page.start) - Int(step.address), 0)
            let to = min(Int(page.end - UInt64(step.address)), total)
            if let current, current[from..<to] == step.bytes[from..<to] { continue }
            if page.attributes.contains(.erasable) {
                try await session.erase(page: page.start)
                erased += 1
            }
            if step.kind == .invalidateLegacyUserPart { continue }
            if let last = runs.last, last.offset + last.count == from {
                runs[runs.count - 1].count += to - from
            } else {
                runs.append((from, to - from))
            }
            events(.phase(index: index, name: "erase", done: to, total: total))
        }
        for run in runs {
            let chunk = Array(step.bytes[run.offset..<(run.offset + run.count)])
            try await session.write(chunk, at: step.address + UInt32(run.offset)) { done in
                events(.phase(index: index, name: "write", done: run.offset + done, total: total))
            }
        }
        let written = try await session.read(at: step.address, count: total) { done in
            events(.phase(index: index, name: "verify", done: done, total: total))
        }
        if let offset = written.indices.first(where: { written[$0] != step.bytes[$0] }) {
            throw DFUError(
                operation: "verify \(step.name)", kind: .verifyMismatch(expected: step.bytes[offset], found: written[offset]),
                device: session.transport.deviceName, alt: session.alt, address: step.address + UInt32(offset))
        }
        return StepOutcome(step: step, action: .written(pagesErased: erased, pagesWritten: runs.count))
    }
}
