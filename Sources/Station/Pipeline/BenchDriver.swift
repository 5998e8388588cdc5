import Seams
import StationConfig
import Foundation
import ParticleDevices

/// A device arriving or leaving, as the bus adapter sees it.
public enum HardwareEvent: Hashable, Sendable {
    case arrived(port: String, deviceID: DeviceID, productID: UInt16, inDFU: Bool)
    case departed(port: String)
}

/// How the bench reads stickers: the key tried first and what the scanner adds around each
/// code (`[scanner] prefix` and `suffix`).
public struct ScanSettings: Hashable, Sendable {
    public var preferred: StickerCode.Key
    public var prefix: String
    public var suffix: String
    public init(preferred: StickerCode.Key = .serialNumber, prefix: String = "", suffix: String = "") {
        self.preferred = preferred
        self.prefix = prefix
        self.suffix = suffix
    }
}

/// Runs the bench: hardware events, scans and the technician's keys in; the pure
/// `BenchState` decides; the `Provisioner` does the device work; the `ProvisioningLog`
/// keeps everything. Every normal-mode arrival is put in listening mode by the no-cloud
/// guard before anything else. One device failing or leaving never disturbs another: each
/// device's work runs in its own task.
public actor BenchDriver<C: Clock<Duration>> {
    var state: BenchState
    let provisioner: Provisioner<C>
    let noCloud: NoCloudGuard<C>
    let link: any DeviceLink
    let log: any ProvisioningLog
    let slotName: @Sendable (String) -> String
    let clock: C
    let origin: C.Instant
    /// The wall-clock time at `origin`, in seconds since the Unix epoch: the bench's times
    /// (saved with jobs) are this plus the clock's elapsed time, so they still mean
    /// something to the station that restarts on the same store.
    let wallOrigin: Double
    let slots: [BenchConfig.Slot]
    let scanSettings: ScanSettings
    /// What the screen shows beyond the jobs: notes and prompts, the detail area, the banner.
    var board = BenchBoard()
    var watchers: [UUID: AsyncStream<BenchView>.Continuation] = [:]
    /// Work in flight per device (identify, flash, finish).
    var work: [DeviceID: Task<Void, Never>] = [:]
    /// The batch of actions performed last (`perform` chains each batch after it).
    var lastBatch: Task<[BenchEvent], Never>?
    /// The guard of each arrival still being stopped, by port.
    var guards: [String: Task<Void, Never>] = [:]
    /// Set by `stop()`: nothing more is handled.
    var stopped = false
    /// The connectivity line's test (nil on every other line).
    let connectivity: ConnectivityTest?

    public init(policy: BenchPolicy, provisioner: Provisioner<C>, noCloud: NoCloudPolicy = NoCloudPolicy(), link: any DeviceLink,
                log: any ProvisioningLog, clock: C, wallClock: @Sendable () -> Date = { Date() }, connectivity: ConnectivityTest? = nil, slots: [BenchConfig.Slot] = [],
                scanSettings: ScanSettings = ScanSettings()) {
        self.connectivity = connectivity
        self.slots = slots
        self.scanSettings = scanSettings
        state = BenchState(policy: policy)
        self.provisioner = provisioner
        // A connectivity line guards every arrival too: a device may connect only inside
        // its connectivity test step (whose own re-enumerations are not guarded).
        var guardPolicy = noCloud
        guardPolicy.connectivityTest = false
        self.noCloud = NoCloudGuard(policy: guardPolicy, clock: clock)
        self.link = link
        self.log = log
        self.clock = clock
        origin = clock.now
        wallOrigin = wallClock().timeIntervalSince1970
        slotName = { port in slots.first { $0.port == port }?.name ?? port }
    }

    /// The bench's time: seconds since the Unix epoch, advancing with the injected clock.
    var now: Double { wallOrigin + runningSeconds }

    /// A bench time as a date (nil: now).
    func date(_ time: Double?) -> Date { Date(timeIntervalSince1970: time ?? now) }

    /// Seconds since this driver started.
    var runningSeconds: Double {
        let elapsed = origin.duration(to: clock.now)
        return elapsed.inSeconds
    }

    /// Resumes from the jobs saved before a restart.
    public func restore() async {
        do {
            let saved = try await log.savedJobs()
            await perform(state.restore(saved))
            for job in saved where job.step.isActive && job.step != .interrupted {
                try? await log.event("step", deviceID: job.deviceID, detail: "attempt \(job.attempt): \(job.step.rawValue) interrupted (the station restarted), now interrupted")
            }
            if !saved.isEmpty { note("resumed \(saved.filter { $0.step.isActive }.count) unfinished job(s) from the store") }
        } catch {
            note("FAIL [STORE]: cannot read the saved jobs: \(error)")
        }
    }

    // MARK: Inputs

    public func hardware(_ event: HardwareEvent) async {
        switch event {
        case .arrived(let port, let deviceID, let productID, let inDFU):
            try? await log.event("arrived", deviceID: deviceID, detail: "\(port) \(inDFU ? "dfu" : "normal") 2b04:\(String(productID, radix: 16))")
            await handle(.plugged(port: port, deviceID: deviceID, productID: productID, inDFU: inDFU))
        case .departed(let port):
            try? await log.event("departed", deviceID: state.ports[port], detail: port)
            await handle(.departed(port: port))
        }
    }

    /// A line from a barcode scanner of its own (USB-serial, evdev): stickers only.
    /// `prefix`/`suffix`: that scanner's own (else the bench's).
    public func scanned(_ text: String, prefix: String? = nil, suffix: String? = nil) async {
        _ = await input(BenchInput.parse(text, stickers: true, commands: false, preferred: scanSettings.preferred, prefix: prefix ?? scanSettings.prefix,
                                         suffix: suffix ?? scanSettings.suffix))
    }

    /// A line typed at the station's terminal: a command, or (`stickers`: a keyboard-wedge
    /// scanner types there) a sticker. Returns true when it asks to quit.
    public func typed(_ text: String, stickers: Bool) async -> Bool {
        await input(BenchInput.parse(text, stickers: stickers, preferred: scanSettings.preferred, prefix: scanSettings.prefix, suffix: scanSettings.suffix))
    }

    func input(_ input: BenchInput) async -> Bool {
        switch input {
        case .quit:
            return true
        case .sticker(let sticker):
            // Never the mobile secret: the log says only that the sticker carried one.
            try? await log.event("scan", deviceID: nil, detail: sticker.description)
            await handle(.scanned(sticker))
        case .refused(let message):
            try? await log.event("scan-refused", deviceID: nil, detail: message)
            note(message)
            publish()
        case .help:
            for line in BenchInput.helpLines { note(line) }
            publish()
        case .retry(let slot):
            await retry(slot: slot)
        case .details(let slot):
            let port = self.port(ofSlot: slot)
            if let job = state.job(at: port) ?? state.jobs.values.first(where: { $0.port == nil && slotName(state.port(of: $0)) == slot }), job.failure != nil {
                board.detailDevice = job.deviceID
            } else {
                note("d \(slot): " + (slots.isEmpty || slots.contains { $0.name == slot } ? "no failed device in slot \(slot)" : "there is no slot \(slot) (\(slotList))"))
            }
            publish()
        }
        return false
    }

    var slotList: String { "slots: " + slots.map(\.name).joined(separator: ", ") }

    func port(ofSlot slot: String) -> String { slots.first { $0.name == slot }?.port ?? slot }

    /// Re-runs the failed device in a slot (its name, or its port on an automatic bench);
    /// says why when it cannot.
    public func retry(slot: String) async {
        let port = self.port(ofSlot: slot)
        guard let job = state.job(at: port) else {
            let known = slots.isEmpty || slots.contains { $0.name == slot }
            note("r \(slot): " + (known ? "no device is in slot \(slot); plug the failed device back in there first" : "there is no slot \(slot) (\(slotList))"))
            return publish()
        }
        guard job.step == .failed else {
            note("r \(slot): the device in \(slot) is \(job.step == .passed ? "PASS" : "still working (\(job.step.label))"); only a FAIL can be re-run")
            return publish()
        }
        await handle(.retry(port: port))
    }

    /// A standing warning for the whole bench (nil clears it).
    public func setBanner(_ text: String?) {
        board.banner = text
        publish()
    }

    public func tick() async { await handle(.tick) }

    // MARK: The loop

    func handle(_ event: BenchEvent) async {
        guard !stopped else { return }
        let actions = state.handle(event, now: now)
        await perform(actions)
        publish()
    }

    /// The platform ID of the manifest a job is provisioned with (a bench serving several
    /// products queues each device for its own).
    func platformID(of job: Job) -> Int? {
        job.identity.platform.flatMap { provisioner.manifests[$0] }.map { Int($0.platform.id.rawValue) }
    }

    /// Performs a batch of actions after every batch handed over before it has been
    /// performed. The driver is an actor, and a batch waits on the store: without this, the
    /// batch of an event that came meanwhile (a passed device re-enumerating) could save its
    /// job as passed before the batch that records that pass had written the record, and a
    /// station killed between the two would restart on a passed job with no record.
    /// Events the batch gives rise to are handled after it.
    func perform(_ actions: [BenchAction]) async {
        let previous = lastBatch
        let batch = Task { () -> [BenchEvent] in
            _ = await previous?.value
            return await self.performInOrder(actions)
        }
        lastBatch = batch
        for event in await batch.value { await handle(event) }
    }

    func performInOrder(_ actions: [BenchAction]) async -> [BenchEvent] {
        // A record and the import change of the same device in one batch are written as one
        // transaction (a PASS is never recorded without its queued import).
        var joined = Set<Int>()
        var followUps: [BenchEvent] = []
        for (index, action) in actions.enumerated() {
            if joined.contains(index) { continue }
            switch action {
            case .save(let job):
                // A finished job's save goes into its record's transaction (below).
                let recordFollows = (job.step == .passed || job.step == .failed) && actions.dropFirst(index + 1).contains {
                    if case .record(let done) = $0 { return done.deviceID == job.deviceID } else { return false }
                }
                board.touch(job.deviceID)
                if !recordFollows {
                    do { try await log.save(job) } catch { note("FAIL [STORE]: the job of \(job.deviceID) was not saved: \(error)") }
                }
            case .record(let job):
                if job.step == .failed { board.detailDevice = job.deviceID }
                // All of it from the job: a restart loses none of it, and the attempt started
                // when its job says.
                let detail = AttemptDetail(startedAt: date(job.attemptStartedAt), finishedAt: date(now), modulesBefore: job.modulesBefore,
                                           modulesAfter: job.modulesAfter, written: job.written)
                var change = ImportChange.none
                if let next = actions.indices.dropFirst(index + 1).first(where: { actions[$0].importChange(of: job.deviceID) != nil }) {
                    if case .enqueueImport = actions[next] {
                        change = .enqueue(platformID: platformID(of: job))
                    } else if case .withdrawImport(_, let reason) = actions[next] {
                        change = .withdraw(reason: reason)
                    }
                    joined.insert(next)
                }
                do { try await log.record(job, detail, then: change) } catch {
                    switch change {
                    case .enqueue: note("FAIL [STORE]: \(job.deviceID) passed but neither its record nor its import was written: \(error). Run `station queue add` for it")
                    case .withdraw: note("FAIL [STORE]: the record of \(job.deviceID) was not written and its queued import not withdrawn: \(error). Do not migrate it: `station queue status --device \(job.deviceID)`")
                    case .none: note("FAIL [STORE]: the record of \(job.deviceID) was not written: \(error)")
                    }
                }
                try? await log.event("result", deviceID: job.deviceID,
                                     detail: "attempt \(job.attempt): " + (job.step == .passed ? "PASS" : "FAIL \(job.failure?.code ?? "UNKNOWN"): \(job.failure?.message ?? "")"))
            case .enqueueImport:
                guard case .enqueueImport(let deviceID, _) = action, let job = state.jobs[deviceID] else { continue }
                let platformID = platformID(of: job)
                do { try await log.enqueueImport(job, platformID: platformID) } catch {
                    note("FAIL [STORE]: \(deviceID) passed but was not queued for import: \(error). Run `station queue add` for it")
                }
            case .withdrawImport(let deviceID, let reason):
                guard let job = state.jobs[deviceID] else { continue }
                do { try await log.withdrawImport(job, reason: reason) } catch {
                    note("FAIL [STORE]: \(deviceID) failed but its queued import was not withdrawn: \(error). Do not migrate it: `station queue status --device \(deviceID)`")
                }
            case .prompt(let prompt):
                note(prompt)
            case .guard(let port, let deviceID):
                // At once, on a task of its own: a device that does not answer must not hold
                // up the next arrival. Measured from its arrival.
                let link = self.link, noCloud = self.noCloud, arrived = clock.now
                guards[port]?.cancel()
                guards[port] = Task {
                    let report = await noCloud.stop(port: port, arrivedAt: arrived) { (try await link.normal(deviceID, within: .milliseconds(500)), nil) }
                    try? await self.log.event("guard", deviceID: deviceID, detail: "\(report.action) in \(report.latency)")
                    guard !Task.isCancelled else { return }  // it left meanwhile
                    var failure: JobFailure?
                    if case .failed(let code, let message) = report.action { failure = JobFailure(code: code, message: message) }
                    await self.handle(.guarded(port: port, deviceID: deviceID, latency: report.latency.inSeconds, failure: failure))
                }
            case .stopGuard(let port):
                guards.removeValue(forKey: port)?.cancel()
            case .logStep(let deviceID, let detail):
                // The event log: each step's outcome, with the failure's code.
                try? await log.event("step", deviceID: deviceID, detail: detail)
            case .identify(let port, let deviceID):
                // A device in DFU mode is started to be identified: it leaves the bus and
                // comes back in normal mode as part of this step (the job knows: `identifySwitch`).
                let arrival = state.jobs[deviceID]?.arrival ?? Job.Arrival(productID: 0, inDFU: false)
                run(deviceID) { driver in
                    do throws(StepFailure) {
                        let outcome = try await driver.provisioner.identify(deviceID: deviceID, port: port, productID: arrival.productID, inDFU: arrival.inDFU)
                        await driver.handle(.identified(deviceID: deviceID, outcome.job, modules: outcome.identity.modules ?? []))
                    } catch {
                        await driver.stepFailed(deviceID, error, otherwise: .identifyFailed(deviceID: deviceID, error.failure))
                    }
                }
            case .flash(_, let deviceID):
                let platform = state.jobs[deviceID]?.identity.platform
                run(deviceID) { driver in
                    do throws(StepFailure) {
                        let outcome = try await driver.provisioner.flash(deviceID: deviceID, platform: platform) { done, total in
                            Task { await driver.handle(.progress(deviceID: deviceID, done: done, total: total)) }
                        }
                        await driver.handle(.flashed(deviceID: deviceID, written: outcome.written, inDFU: outcome.inDFU))
                    } catch {
                        await driver.stepFailed(deviceID, error, otherwise: .flashFailed(deviceID: deviceID, error.failure, deviceGone: false))
                    }
                }
            case .finish(_, let deviceID, let finalState):
                let platform = state.jobs[deviceID]?.identity.platform
                let inDFU = state.jobs[deviceID]?.inDFUAfterFlash ?? false
                run(deviceID) { driver in
                    do throws(StepFailure) {
                        let after = try await driver.provisioner.finish(deviceID: deviceID, platform: platform, state: finalState, inDFU: inDFU)
                        await driver.handle(.finished(deviceID: deviceID, modules: after))
                    } catch {
                        await driver.stepFailed(deviceID, error, otherwise: .finishFailed(deviceID: deviceID, error.failure))
                    }
                }
            case .connectivityTest(_, let deviceID):
                guard let connectivity else {
                    followUps.append(.connectivity(deviceID: deviceID, JobFailure(
                        code: "CONNECTIVITY-UNAVAILABLE", message: "the station has no test-account access to watch the device come online; check the credentials file's test_account_token")))
                    continue
                }
                let finalState = state.policy.finalState(for: state.jobs[deviceID]?.identity.platform)
                run(deviceID) { driver in
                    let failure = await connectivity.run(deviceID: deviceID, finalState: finalState)
                    if let failure, failure.deviceGone {
                        await driver.stepFailed(deviceID, failure, otherwise: .connectivity(deviceID: deviceID, failure.failure))
                    } else {
                        await driver.handle(.connectivity(deviceID: deviceID, failure?.failure))
                    }
                }
            }
        }
        return followUps
    }

    /// A step's failure: a device that is gone interrupts the job (and the reason is kept
    /// in the notes and the event log: "gone" may also be a re-enumeration that never came
    /// back); any other failure is `otherwise`.
    func stepFailed(_ deviceID: DeviceID, _ failure: StepFailure, otherwise: BenchEvent) async {
        guard failure.deviceGone else { return await handle(otherwise) }
        note("\(deviceID): [\(failure.failure.code)] \(failure.failure.message)")
        await handle(.flashFailed(deviceID: deviceID, failure.failure, deviceGone: true))
    }

    func run(_ deviceID: DeviceID, _ body: @escaping @Sendable (BenchDriver) async -> Void) {
        work[deviceID] = Task { await body(self) }
    }

    /// A prompt from the state machine, on the board and in the event log.
    func note(_ prompt: Prompt) {
        let (text, deviceID) = board.note(prompt, state: state, slotName: slotName, at: now)
        logPrompt(text, deviceID: deviceID)
    }

    /// A note of the driver's own (a refusal, a store failure, ...), on the board and in the
    /// event log.
    func note(_ text: String, deviceID: DeviceID? = nil) {
        board.note(text, deviceID: deviceID, port: nil, job: deviceID.flatMap { state.jobs[$0] }, at: now)
        logPrompt(text, deviceID: deviceID)
    }

    func logPrompt(_ text: String, deviceID: DeviceID?) {
        let log = self.log
        Task { try? await log.event("prompt", deviceID: deviceID, detail: text) }
    }

    // MARK: The view

    public var view: BenchView {
        board.view(state: state, slots: slots, slotName: slotName, now: now, elapsed: now - wallOrigin)
    }

    /// Every change of the view, as it happens.
    public func updates() -> AsyncStream<BenchView> {
        let (stream, continuation) = AsyncStream<BenchView>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        watchers[id] = continuation
        continuation.yield(view)
        return stream
    }

    func publish() {
        guard !watchers.isEmpty else { return }
        let current = view
        for continuation in watchers.values { continuation.yield(current) }
    }

    /// The latest prompts and notes (up to 50), oldest first.
    public var recentPrompts: [String] { board.recentPrompts }

    /// The jobs now (for tests and the end of a run).
    public var jobs: [Job] { state.jobs.values.filter { !$0.isUnstarted } }

    /// Waits for the work in flight to end (quitting cleanly).
    public func drain() async {
        for task in work.values { await task.value }
    }

    /// Stops as a killed station stops: the work in flight is cancelled, and nothing it or
    /// the bus reports afterwards is acted on or written (a restarted station on the same
    /// store takes over from what was saved).
    public func stop() {
        stopped = true
        for task in work.values { task.cancel() }
        for task in guards.values { task.cancel() }
    }
}

extension BenchAction {
    /// The device this action queues or withdraws the import of, if it is one of those.
    func importChange(of deviceID: DeviceID) -> DeviceID? {
        switch self {
        case .enqueueImport(let id, _) where id == deviceID: id
        case .withdrawImport(let id, _) where id == deviceID: id
        default: nil
        }
    }
}
