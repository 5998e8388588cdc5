import Seams
import ParticleDevices

/// What the bench needs from the station config to run jobs.
public struct BenchPolicy: Hashable, Sendable {
    public var pairing: PairingKey
    /// False: a device goes on without a scan (a scan that comes is still checked).
    public var scanRequired: Bool
    /// Where each platform is left (by catalog name); others get `defaultFinalState`.
    public var finalStates: [String: NoCloudPolicy.FinalState]
    public var defaultFinalState: NoCloudPolicy.FinalState
    /// An end-to-end connectivity line (test account): after flashing, the device connects
    /// and must be seen online.
    public var connectivityTest: Bool
    /// Flash units in Service Mode (`[bench] allow_service_mode`); a protected unit never.
    public var allowServiceMode: Bool
    /// How long a scan waits for its device before it is dropped (with a prompt).
    public var scanHold: Duration
    /// How long between reminders for a device waiting for its scan.
    public var scanReminder: Duration

    public init(pairing: PairingKey = .serialNumber, scanRequired: Bool = true, finalStates: [String: NoCloudPolicy.FinalState] = [:],
                defaultFinalState: NoCloudPolicy.FinalState = .listening, connectivityTest: Bool = false, allowServiceMode: Bool = false,
                scanHold: Duration = .seconds(120), scanReminder: Duration = .seconds(30)) {
        self.pairing = pairing
        self.scanRequired = scanRequired
        self.finalStates = finalStates
        self.defaultFinalState = defaultFinalState
        self.connectivityTest = connectivityTest
        self.allowServiceMode = allowServiceMode
        self.scanHold = scanHold
        self.scanReminder = scanReminder
    }

    public func finalState(for platform: String?) -> NoCloudPolicy.FinalState {
        platform.flatMap { finalStates[$0] } ?? defaultFinalState
    }
}

/// Something the technician must read or do.
public enum Prompt: Hashable, Sendable, CustomStringConvertible {
    case scanSticker(port: String, platform: String?)
    case scanHeld(code: String)
    case scanDiscarded(code: String)
    case duplicateScan(code: String, deviceID: DeviceID?)
    case unplugged(port: String, deviceID: DeviceID, during: JobStep)
    case resumed(port: String, deviceID: DeviceID)
    case done(port: String, deviceID: DeviceID, passed: Bool, code: String?)

    public var description: String {
        switch self {
        case .scanSticker(let port, let platform):
            "\(port): scan the sticker of this \(platform ?? "device")"
        case .scanHeld(let code):
            "scan \(code) kept: plug its device in"
        case .scanDiscarded(let code):
            "scan \(code) matched no device and was dropped: plug the device in, then scan its sticker again"
        case .duplicateScan(let code, let deviceID):
            "\(code) was already scanned" + (deviceID.map { " (for \($0))" } ?? "") + ": scan the sticker of the next device"
        case .unplugged(let port, let deviceID, let step):
            "\(port): \(deviceID) was unplugged while \(step.rawValue): plug the same device back in to resume"
        case .resumed(let port, let deviceID):
            "\(port): \(deviceID) is back; resuming"
        case .done(let port, _, let passed, let code):
            if passed { "\(port): PASS, unplug the device" }
            else {
                "\(port): FAIL [\(code ?? "?")]: " + (FailureTable.entry(for: code ?? "")?.next ?? .callTheLineLead).instruction
            }
        }
    }
}

/// What happened, as the adapters report it.
public enum BenchEvent: Hashable, Sendable {
    /// A device showed up on the bus, as the bus adapter reports it: in normal mode it runs
    /// firmware that may connect, so it is guarded first (`guard`, then `guarded`); in DFU
    /// mode (no firmware runs) or in its connectivity test (meant to connect) it arrives at once.
    case plugged(port: String, deviceID: DeviceID, productID: UInt16, inDFU: Bool)
    /// The guard is done with a normal-mode arrival on `port`: how long it took to stop it,
    /// and why it could not (`failure`: it may connect).
    case guarded(port: String, deviceID: DeviceID, latency: Double, failure: JobFailure?)
    /// A device is on the bus (any mode), already under the no-cloud guard: its USB product
    /// ID, whether it is in DFU mode, and how long the guard took to stop it (normal mode).
    case arrived(port: String, deviceID: DeviceID, productID: UInt16 = 0, inDFU: Bool = false, guardLatency: Double? = nil)
    case departed(port: String)
    /// The identify step is about to switch the device's mode (a device that arrived in DFU
    /// mode is started to read what only normal mode gives): its departure and return are
    /// part of the step, not an unplug.
    case identifySwitchesMode(deviceID: DeviceID)
    /// What it reports, and the modules it held before anything was written.
    case identified(deviceID: DeviceID, JobIdentity, modules: [DeviceIdentity.Module] = [])
    case identifyFailed(deviceID: DeviceID, JobFailure)
    /// A sticker the scanner read (parsed: see `BenchInput`).
    case scanned(StickerCode)
    case progress(deviceID: DeviceID, done: Int, total: Int)
    /// Every module written and verified: what was done with each file, and whether the
    /// device was left in DFU mode.
    case flashed(deviceID: DeviceID, written: [FlashOutcome.Written] = [], inDFU: Bool = false)
    /// `deviceGone`: it left and did not come back (unplugged): the job is interrupted
    /// (whatever step reported it).
    case flashFailed(deviceID: DeviceID, JobFailure, deviceGone: Bool)
    /// The final state is applied; the modules it holds at the end.
    case finished(deviceID: DeviceID, modules: [DeviceIdentity.Module] = [])
    case finishFailed(deviceID: DeviceID, JobFailure)
    /// The connectivity test: nil when the device came online under the test account.
    case connectivity(deviceID: DeviceID, JobFailure?)
    /// The technician re-runs the failed device on this port.
    case retry(port: String)
    /// Time passes (scan timeouts, reminders).
    case tick
}

/// What the adapters must do next.
public enum BenchAction: Hashable, Sendable {
    /// Stop the device that arrived on `port` from connecting (listening mode), at once.
    case `guard`(port: String, deviceID: DeviceID)
    /// The device left before its guard finished: stop guarding it.
    case stopGuard(port: String)
    case identify(port: String, deviceID: DeviceID)
    /// Plan against what the device holds, flash (DFU and control-request paths) and verify.
    case flash(port: String, deviceID: DeviceID)
    case finish(port: String, deviceID: DeviceID, state: NoCloudPolicy.FinalState)
    case connectivityTest(port: String, deviceID: DeviceID)
    /// Persist the job as it is now (before anything else happens).
    case save(Job)
    /// The attempt is over (passed or failed): its durable record.
    case record(Job)
    case enqueueImport(deviceID: DeviceID, iccid: ICCID?)
    /// A connectivity line's device failed after its import was queued (its SIM is active
    /// under the test account): the import must not go on to the product.
    case withdrawImport(deviceID: DeviceID, reason: String)
    case prompt(Prompt)
    /// A job moved to another step: the event log's line for it (what the last step came to).
    case logStep(deviceID: DeviceID, detail: String)
}

/// The bench as a pure state machine: every device is a job keyed by device ID; scans are
/// paired with devices by value first, else in order; unplugged jobs wait to be resumed;
/// jobs restored after a restart resume when their device returns. No I/O: events in,
/// actions out, time as seconds given by the caller.
public struct BenchState: Sendable {
    public let policy: BenchPolicy
    public private(set) var jobs: [DeviceID: Job] = [:]
    /// Port → device ID of the job there.
    public private(set) var ports: [String: DeviceID] = [:]
    /// Scans not yet paired: code and when.
    public private(set) var pendingScans: [(code: StickerCode, at: Double)] = []
    /// How long after a PASS or FAIL a departure and return still count as the last step's switch.
    static let settle = Duration.seconds(10)

    public init(policy: BenchPolicy) {
        self.policy = policy
    }

    /// Jobs from the store after a restart: active ones wait, interrupted, for their device.
    public mutating func restore(_ saved: [Job]) -> [BenchAction] {
        var actions: [BenchAction] = []
        for var job in saved {
            // A guard does not outlive the station: a device still there is announced again.
            job.guarding = nil
            if job.step.isActive && job.step != .interrupted {
                job.interruptedAt = job.step
                job.step = .interrupted
                job.port = nil
                actions.append(.save(job))
            } else if !job.step.isActive, job.port == nil, job.switching, let last = job.lastPort {
                // It left for its last step's own switch (into its final mode) and the
                // station stopped before it came back: it is on its way back where it was,
                // and its return there is not a new plug-in, however long the restart took.
                job.port = last
                job.switching = false
            }
            jobs[job.deviceID] = job
        }
        return actions
    }

    public func job(at port: String) -> Job? { ports[port].flatMap { jobs[$0] } }

    public mutating func handle(_ event: BenchEvent, now: Double) -> [BenchAction] {
        let actions = step(event, now)
        // An identify that starts a DFU-mode arrival switches its mode: its departure and
        // return belong to the step, not to an unplug.
        for case .identify(_, let deviceID) in actions where jobs[deviceID]?.arrival?.inDFU == true && jobs[deviceID]?.step == .identifying {
            jobs[deviceID]?.identifySwitch = true
        }
        return actions
    }

    mutating func step(_ event: BenchEvent, _ now: Double) -> [BenchAction] {
        switch event {
        case .plugged(let port, let deviceID, let productID, let inDFU):
            return plugged(port, deviceID, Job.Arrival(productID: productID, inDFU: inDFU), now)
        case .guarded(let port, let deviceID, let latency, let failure):
            return guarded(port, deviceID, latency: latency, failure: failure, now)
        case .arrived(let port, let deviceID, let productID, let inDFU, let guardLatency):
            return arrived(port, deviceID, Job.Arrival(productID: productID, inDFU: inDFU), guardLatency: guardLatency, now)
        case .departed(let port):
            return stopGuarding(port) + departed(port, now)
        case .identifySwitchesMode(let deviceID):
            if jobs[deviceID]?.step == .identifying { jobs[deviceID]?.identifySwitch = true }
            return []
        case .identified(let deviceID, let identity, let modules):
            if jobs[deviceID]?.step == .identifying { jobs[deviceID]?.modulesBefore = modules }
            return identified(deviceID, identity, now)
        case .identifyFailed(let deviceID, let failure): return fail(deviceID, failure, now)
        case .scanned(let sticker): return scanned(sticker, now)
        case .progress(let deviceID, let done, let total):
            guard var job = jobs[deviceID], job.step == .flashing else { return [] }
            job.progress = .init(done: done, total: total)
            jobs[deviceID] = job
            return []
        case .flashed(let deviceID, let written, let inDFU):
            // The device may be between ports: the flash step reaches it in DFU mode before
            // its arrival is seen here. The finish step finds it by device ID.
            guard var job = jobs[deviceID], job.step == .flashing else { return [] }
            job.written = written
            job.inDFUAfterFlash = inDFU
            jobs[deviceID] = job
            let port = self.port(of: job)
            return move(deviceID, to: .finishing, now) + [.finish(port: port, deviceID: deviceID, state: policy.finalState(for: job.identity.platform))]
        case .flashFailed(let deviceID, let failure, let gone):
            // `deviceGone` from any step's adapter: the device left and did not come back.
            guard let job = jobs[deviceID], job.step.isActive, job.step != .interrupted else { return [] }
            if gone {
                // A connectivity test cut short: its import (queued before the test) waits,
                // withdrawn, until the device passes.
                let withdraw: [BenchAction] = job.step == .connectivityTest
                    ? [.withdrawImport(deviceID: deviceID, reason: "its connectivity test was cut short: [\(failure.code)] \(failure.message)")] : []
                return interrupt(deviceID, port: port(of: job), now) + withdraw
            }
            guard job.step == .flashing else { return [] }
            return fail(deviceID, failure, now)
        case .finished(let deviceID, let modules):
            guard var job = jobs[deviceID], job.step == .finishing else { return [] }
            job.modulesAfter = modules
            jobs[deviceID] = job
            if policy.connectivityTest {
                // The device may be between ports (its arrival not seen yet): the test finds
                // it by device ID.
                let port = self.port(of: job)
                // Its import (into the test account: that activates its SIM) is queued first:
                // without it a cellular device cannot connect. The test waits for it.
                let moved = move(deviceID, to: .connectivityTest, now)
                return moved + [.enqueueImport(deviceID: deviceID, iccid: job.identity.iccid), .connectivityTest(port: port, deviceID: deviceID)]
            }
            return pass(deviceID, now)
        case .finishFailed(let deviceID, let failure): return fail(deviceID, failure, now)
        case .connectivity(let deviceID, let failure):
            guard let job = jobs[deviceID], job.step == .connectivityTest else { return [] }
            if let failure {
                return fail(deviceID, failure, now) + [.withdrawImport(deviceID: deviceID, reason: "failed its connectivity test: [\(failure.code)] \(failure.message)")]
            }
            return pass(deviceID, now)
        case .retry(let port):
            guard var job = job(at: port), job.step == .failed else { return [] }
            job.beginNextAttempt(at: now)
            jobs[job.deviceID] = job
            return move(job.deviceID, to: .identifying, now) + [.identify(port: port, deviceID: job.deviceID)]
        case .tick: return tick(now)
        }
    }

    // MARK: Transitions

    /// The guard is the first step of every normal-mode arrival: the job (a new one for a
    /// device not seen before) holds it until `guarded`.
    mutating func plugged(_ port: String, _ deviceID: DeviceID, _ arrival: Job.Arrival, _ now: Double) -> [BenchAction] {
        if arrival.inDFU || jobs[deviceID]?.step == .connectivityTest {
            // DFU mode runs no firmware; a device in its connectivity test is meant to connect.
            return arrived(port, deviceID, arrival, guardLatency: nil, now)
        }
        var job = jobs[deviceID] ?? Job(deviceID: deviceID, port: nil)
        job.guarding = Job.Guarding(port: port, arrival: arrival, since: now)
        jobs[deviceID] = job
        return [.guard(port: port, deviceID: deviceID)]
    }

    mutating func guarded(_ port: String, _ deviceID: DeviceID, latency: Double, failure: JobFailure?, _ now: Double) -> [BenchAction] {
        // It left meanwhile (or arrived again elsewhere): this guard is over.
        guard var job = jobs[deviceID], let guarding = job.guarding, guarding.port == port else { return [] }
        job.guarding = nil
        // A device first seen by this guard gets its job from `arrived`.
        jobs[deviceID] = job.isUnstarted ? nil : job
        let actions = arrived(port, deviceID, guarding.arrival, guardLatency: latency, now)
        guard let failure else { return actions }
        if failure.code == NoCloudGuard<ContinuousClock>.protectedCode { jobs[deviceID]?.identity.protection = .protected }
        return actions + fail(deviceID, JobFailure(code: failure.code, message: "\(failure.message). Unplug it now: it may connect to the cloud"), now)
    }

    /// A departure ends the guard of an arrival on that port; a device first seen there is
    /// forgotten (its job never started).
    mutating func stopGuarding(_ port: String) -> [BenchAction] {
        guard let job = jobs.values.first(where: { $0.guarding?.port == port }) else { return [] }
        if job.isUnstarted {
            jobs[job.deviceID] = nil
        } else {
            jobs[job.deviceID]?.guarding = nil
        }
        return [.stopGuard(port: port)]
    }

    mutating func arrived(_ port: String, _ deviceID: DeviceID, _ arrival: Job.Arrival, guardLatency: Double?, _ now: Double) -> [BenchAction] {
        if let other = ports[port], other != deviceID { ports[port] = nil }
        ports[port] = deviceID
        guard var job = jobs[deviceID] else {
            var job = Job(deviceID: deviceID, port: port)
            job.arrival = arrival
            job.guardLatency = guardLatency
            job.lastPort = port
            job.attemptStartedAt = now
            jobs[deviceID] = job
            return move(deviceID, to: .identifying, now) + [.identify(port: port, deviceID: deviceID)]
        }
        let previousPort = job.port
        let wasSwitching = job.switching
        job.switching = false
        job.port = port
        job.lastPort = port
        job.arrival = arrival
        if let guardLatency { job.guardLatency = guardLatency }
        jobs[deviceID] = job
        switch job.step {
        case .interrupted:
            // Back after an unplug or a restart: identify again (it re-enumerated), keep the
            // pairing, then go on.
            job.interruptedAt = nil
            if job.attemptStartedAt == nil { job.attemptStartedAt = now }
            jobs[deviceID] = job
            return [.prompt(.resumed(port: port, deviceID: deviceID))] + move(deviceID, to: .identifying, now)
                + [.identify(port: port, deviceID: deviceID)]
        case .passed, .failed:
            // Still where it finished (seen again after a restart): nothing to do. Plugged
            // in again after leaving: a new attempt.
            // A switch seen after a PASS counts only while it settles: the technician who
            // unplugs a passed device at once and brings it back later starts a new attempt.
            let settling = job.endedAt.map { now - $0 < 2 * Self.settle.inSeconds } ?? true
            if previousPort == port || wasSwitching && settling { return [.save(job)] }
            job.beginNextAttempt(at: now)
            jobs[deviceID] = job
            return move(deviceID, to: .identifying, now) + [.identify(port: port, deviceID: deviceID)]
        case .flashing, .finishing, .connectivityTest:
            // A mode switch the flash or finish step asked for: its adapter reconnects.
            return [.save(job)]
        case .identifying where wasSwitching:
            // Back from the identify step's own mode switch: that step is still running.
            return [.save(job)]
        case .detected, .identifying, .waitingForScan:
            return move(deviceID, to: .identifying, now) + [.identify(port: port, deviceID: deviceID)]
        }
    }

    mutating func departed(_ port: String, _ now: Double) -> [BenchAction] {
        guard let deviceID = ports[port], var job = jobs[deviceID] else { return [] }
        ports[port] = nil
        switch job.step {
        case .flashing, .finishing, .connectivityTest:
            // Mode switches re-enumerate: the step's adapter decides (it reports a device
            // that does not come back as `flashFailed(deviceGone:)`).
            job.port = nil
            job.switching = true
            jobs[deviceID] = job
            return [.save(job)]
        case .identifying where job.identifySwitch:
            job.port = nil
            job.switching = true
            jobs[deviceID] = job
            return [.save(job)]
        case .passed, .failed:
            job.port = nil
            if let at = job.endedAt, now - at < Self.settle.inSeconds { job.switching = true }
            jobs[deviceID] = job
            return [.save(job)]
        case .detected, .identifying, .waitingForScan, .interrupted:
            return interrupt(deviceID, port: port, now)
        }
    }

    mutating func interrupt(_ deviceID: DeviceID, port: String, _ now: Double) -> [BenchAction] {
        guard var job = jobs[deviceID], job.step.isActive else { return [] }
        job.switching = false
        job.identifySwitch = false
        let was = job.step == .interrupted ? (job.interruptedAt ?? .detected) : job.step
        job.interruptedAt = was
        job.step = .interrupted
        job.port = nil
        let from = job.stepLog.last?.step
        job.stepLog.append(.init(step: .interrupted, at: elapsed(deviceID, now)))
        job.waitingSince = nil
        jobs[deviceID] = job
        if ports[port] == deviceID { ports[port] = nil }
        return [.save(job)] + logStep(job, from: from) + [.prompt(.unplugged(port: port, deviceID: deviceID, during: was))]
    }

    mutating func identified(_ deviceID: DeviceID, _ identity: JobIdentity, _ now: Double) -> [BenchAction] {
        jobs[deviceID]?.identifySwitch = false
        guard var job = jobs[deviceID], job.step == .identifying else { return [] }
        let port = self.port(of: job)
        job.identity = identity.filling(from: job.identity)
        jobs[job.deviceID] = job
        // Device Protection: a unit USB may not write goes to rework now, before its scan is
        // asked for and before anything is written.
        do throws(PlanRefusal) {
            // The state alone here; the firmware is checked against it when the flash plans.
            try DeviceProtection.check(job.identity.protection, allowServiceMode: policy.allowServiceMode, modules: [])
        } catch {
            return fail(deviceID, JobFailure(code: error.code, message: error.description), now)
        }
        if job.scan != nil || policy.pairing == .none || !policy.scanRequired && pendingScans.isEmpty {
            return startFlash(job.deviceID, now)
        }
        // A sticker may carry either key (an IMEI sticker on a serial-number line): only a
        // device that reports neither cannot be checked.
        guard pairingValue(job) != nil || job.identity.serialNumber != nil || job.identity.imei != nil else {
            let what = policy.pairing == .imei ? "IMEI" : "serial number"
            return fail(deviceID, JobFailure(code: "PAIR-NO-KEY", message: "the device did not report its \(what), so its sticker cannot be checked. Set it aside"), now)
        }
        if let index = pendingScans.firstIndex(where: { pairingValue(job, for: $0.code) == $0.code.pairingValue }) {
            let scan = pendingScans.remove(at: index)
            return pair(job.deviceID, scan.code, now)
        }
        // A scan that matches nobody goes to this device only when no other device could
        // still claim it (none is being guarded or identified).
        let othersIdentifying = jobs.values.contains { $0.deviceID != job.deviceID && ($0.step == .identifying || $0.step == .detected || $0.guarding != nil) }
        if !othersIdentifying, !pendingScans.isEmpty {
            let scan = pendingScans.removeFirst()
            return pair(job.deviceID, scan.code, now)
        }
        if !policy.scanRequired { return startFlash(job.deviceID, now) }
        jobs[job.deviceID]?.waitingSince = now
        return move(job.deviceID, to: .waitingForScan, now) + [.prompt(.scanSticker(port: port, platform: identity.platform))]
    }

    mutating func scanned(_ sticker: StickerCode, _ now: Double) -> [BenchAction] {
        let code = sticker.pairingValue
        // A sticker already paired with a device (in progress or passed) is a duplicate; one
        // that failed pairing is free for its right device.
        if let owner = jobs.values.first(where: { $0.scan == code && $0.step != .failed }) {
            return [.prompt(.duplicateScan(code: sticker.description, deviceID: owner.deviceID))]
        }
        if pendingScans.contains(where: { $0.code.pairingValue == code }) { return [.prompt(.duplicateScan(code: sticker.description, deviceID: nil))] }
        let waiting = jobs.values.filter { $0.step == .waitingForScan }.sorted { ($0.waitingSince ?? 0) < ($1.waitingSince ?? 0) }
        if let match = waiting.first(where: { pairingValue($0, for: sticker) == code }) { return pair(match.deviceID, sticker, now) }
        let othersIdentifying = jobs.values.contains { $0.step == .identifying || $0.step == .detected || $0.guarding != nil }
        if let oldest = waiting.first, !othersIdentifying { return pair(oldest.deviceID, sticker, now) }
        pendingScans.append((sticker, now))
        return [.prompt(.scanHeld(code: sticker.description))]
    }

    /// Binds a scan to a job and checks it against what the device reports.
    mutating func pair(_ deviceID: DeviceID, _ sticker: StickerCode, _ now: Double) -> [BenchAction] {
        guard var job = jobs[deviceID] else { return [] }
        job.scan = sticker.pairingValue
        // The secret belongs to the sticker's device: kept only once the sticker matches.
        job.mobileSecret = nil
        job.waitingSince = nil
        jobs[deviceID] = job
        if policy.pairing != .none {
            let what = sticker.key == .imei ? "IMEI" : "serial number"
            guard let key = pairingValue(job, for: sticker) else {
                return fail(deviceID, JobFailure(
                    code: "PAIR-NO-KEY", message: "the sticker carries the \(what) but the device did not report its \(what), so the sticker cannot be checked"), now)
            }
            if key != sticker.pairingValue {
                return fail(deviceID, JobFailure(
                    code: "PAIR-MISMATCH",
                    message: "the scanned sticker says \(sticker.pairingValue) but the device reports \(what) \(key): the sticker belongs to another device"), now)
            }
        }
        if var matched = jobs[deviceID] {
            matched.mobileSecret = sticker.mobileSecret?.rawValue
            jobs[deviceID] = matched
        }
        return startFlash(deviceID, now)
    }

    /// The job's port, else the last one its device was on: steps find devices by ID, so a
    /// device between ports (a mode switch not seen yet) is named by where it was.
    func port(of job: Job) -> String { job.port ?? job.lastPort ?? "?" }

    mutating func startFlash(_ deviceID: DeviceID, _ now: Double) -> [BenchAction] {
        // The flash step finds the device by ID: it may be between ports (back from the
        // identify step's own mode switch, its arrival not seen yet).
        guard jobs[deviceID] != nil else { return [] }
        jobs[deviceID]?.flashStartedAt = now
        guard let job = jobs[deviceID] else { return [] }
        let port = self.port(of: job)
        return move(deviceID, to: .flashing, now) + [.flash(port: port, deviceID: deviceID)]
    }

    mutating func pass(_ deviceID: DeviceID, _ now: Double) -> [BenchAction] {
        guard let job = jobs[deviceID] else { return [] }
        jobs[deviceID]?.endedAt = now
        let moved = move(deviceID, to: .passed, now)
        let done = jobs[deviceID] ?? job
        // A connectivity line queued the import before its test.
        let enqueue: [BenchAction] = policy.connectivityTest ? [] : [.enqueueImport(deviceID: deviceID, iccid: done.identity.iccid)]
        return moved + [.record(done)] + enqueue + [.prompt(.done(port: port(of: done), deviceID: deviceID, passed: true, code: nil))]
    }

    mutating func fail(_ deviceID: DeviceID, _ failure: JobFailure, _ now: Double) -> [BenchAction] {
        guard var job = jobs[deviceID], job.step.isActive else { return [] }
        job.identifySwitch = false
        let port = self.port(of: job)
        job.failure = failure
        job.waitingSince = nil
        job.endedAt = now
        jobs[job.deviceID] = job
        let moved = move(job.deviceID, to: .failed, now)
        let done = jobs[job.deviceID] ?? job
        return moved + [.record(done), .prompt(.done(port: port, deviceID: deviceID, passed: false, code: failure.code))]
    }

    mutating func tick(_ now: Double) -> [BenchAction] {
        var actions: [BenchAction] = []
        let expired = pendingScans.filter { now - $0.at >= policy.scanHold.inSeconds }
        pendingScans.removeAll { now - $0.at >= policy.scanHold.inSeconds }
        actions += expired.map { .prompt(.scanDiscarded(code: $0.code.description)) }
        for job in jobs.values.sorted(by: { ($0.waitingSince ?? 0) < ($1.waitingSince ?? 0) }) {
            guard let since = job.waitingSince, now - since >= policy.scanReminder.inSeconds, job.step == .waitingForScan, let port = job.port else { continue }
            jobs[job.deviceID]?.waitingSince = now
            actions.append(.prompt(.scanSticker(port: port, platform: job.identity.platform)))
        }
        return actions
    }

    // MARK: Helpers

    mutating func move(_ deviceID: DeviceID, to step: JobStep, _ now: Double) -> [BenchAction] {
        guard var job = jobs[deviceID] else { return [] }
        let from = job.stepLog.last?.step
        job.step = step
        job.stepLog.append(.init(step: step, at: elapsed(deviceID, now)))
        jobs[deviceID] = job
        return [.save(job)] + logStep(job, from: from)
    }

    /// The event log's line for a job that moved from `from` (nil: the first step of its
    /// attempt) to the step it is at now.
    func logStep(_ job: Job, from: JobStep?) -> [BenchAction] {
        guard let from else { return [.logStep(deviceID: job.deviceID, detail: "attempt \(job.attempt): \(job.step.rawValue)")] }
        guard from != job.step else { return [] }
        let outcome = job.step == .failed ? "FAIL \(job.failure?.code ?? "")" : job.step == .interrupted ? "interrupted" : "ok"
        return [.logStep(deviceID: job.deviceID, detail: "attempt \(job.attempt): \(from.rawValue) \(outcome), now \(job.step.rawValue)")]
    }

    func elapsed(_ deviceID: DeviceID, _ now: Double) -> Double { max(0, now - (jobs[deviceID]?.attemptStartedAt ?? now)) }

    /// What the device reports for the line's pairing key.
    func pairingValue(_ job: Job) -> String? {
        switch policy.pairing {
        case .serialNumber: job.identity.serialNumber.map { normalise($0.rawValue) }
        case .imei: job.identity.imei.map { normalise($0.rawValue) }
        case .none: nil
        }
    }

    /// What the device reports for the key this sticker carries (a serial-number sticker is
    /// checked against the serial number, an IMEI sticker against the IMEI, whatever the
    /// line's default).
    func pairingValue(_ job: Job, for sticker: StickerCode) -> String? {
        switch sticker.key {
        case .serialNumber: job.identity.serialNumber.map { normalise($0.rawValue) }
        case .imei: job.identity.imei.map { normalise($0.rawValue) }
        case .none: nil
        }
    }

    /// Devices report their identifiers as they are; stickers are compared normalised
    /// (upper-case, no surrounding whitespace).
    func normalise(_ text: String) -> String {
        String(text.filter { !$0.isWhitespace && !$0.isNewline }).uppercased()
    }
}
