import Seams
import ParticleDevices
import StationConfig

/// What the technician's screen shows: one row per slot, totals, prompts.
public struct BenchView: Hashable, Sendable {
    public struct Row: Hashable, Sendable {
        public var slot: String
        public var port: String?
        public var deviceID: String
        public var platform: String?
        public var serial: String?
        public var step: JobStep
        public var attempt: Int
        public var progress: Job.Progress?
        /// Seconds left in the flash step, from the rate so far.
        public var eta: Double?
        public var failure: JobFailure?
        /// From arrival to listening mode, for the no-cloud guard.
        public var guardLatency: Double?
        /// A configured slot with no device in it.
        public var empty: Bool

        public init(slot: String, port: String?, deviceID: String, platform: String?, serial: String?, step: JobStep, attempt: Int,
                    progress: Job.Progress?, eta: Double?, failure: JobFailure?, guardLatency: Double?, empty: Bool = false) {
            self.empty = empty
            self.slot = slot
            self.port = port
            self.deviceID = deviceID
            self.platform = platform
            self.serial = serial
            self.step = step
            self.attempt = attempt
            self.progress = progress
            self.eta = eta
            self.failure = failure
            self.guardLatency = guardLatency
        }
    }
    /// The whole reason of one failure, for the detail area: the latest failure, or the
    /// slot the technician picked (`d SLOT`).
    public struct Detail: Hashable, Sendable {
        public var slot: String
        public var deviceID: String
        public var failure: JobFailure
        public init(slot: String, deviceID: String, failure: JobFailure) {
            self.slot = slot
            self.deviceID = deviceID
            self.failure = failure
        }
    }
    /// One row per configured slot (empty ones too: `deviceID` is empty and `step` is
    /// `.detected` with `empty` set), then the devices on ports outside them.
    public var rows: [Row]
    public var passed: Int
    /// Failed by a fault the bench saw; protected units (routed to the online rework
    /// bench: `JobFailure.isProtectedUnit`) are counted apart.
    public var failed: Int
    public var protected: Int
    public var perHour: Double
    /// Prompts still current: a prompt about a slot goes once that slot moves on.
    public var prompts: [String]
    public var elapsed: Double
    public var detail: Detail?
    /// A standing warning for the whole bench (imports paused, ...), nil when all is well.
    public var banner: String?
    /// Each prompt's number (a prompt repeated later is a new one); empty: the texts are
    /// told apart by themselves.
    public var promptIDs: [Int]

    public init(rows: [Row], passed: Int, failed: Int, protected: Int = 0, perHour: Double, prompts: [String], elapsed: Double, detail: Detail? = nil,
                banner: String? = nil, promptIDs: [Int] = []) {
        self.promptIDs = promptIDs
        self.rows = rows
        self.passed = passed
        self.failed = failed
        self.protected = protected
        self.perHour = perHour
        self.prompts = prompts
        self.elapsed = elapsed
        self.detail = detail
        self.banner = banner
    }
}

/// What the technician's screen shows beyond the jobs, as a plain value: the notes and
/// prompts (each shown while it is current), the device whose failure the detail area shows,
/// the standing banner, and the order in which jobs last changed (which device a port's row
/// shows). `BenchDriver` keeps one and asks it for the view.
public struct BenchBoard: Sendable {
    var notes: [Note] = []
    var noteCount = 0
    /// The device whose failure the detail area shows: the latest to fail, or the one the
    /// technician picked.
    public var detailDevice: DeviceID?
    public var banner: String?
    /// The order in which jobs last changed.
    var lastTouched: [DeviceID: Int] = [:]
    var touches = 0

    public init() {}

    /// A job changed (saved): its device is the latest on its port.
    public mutating func touch(_ deviceID: DeviceID) {
        touches += 1
        lastTouched[deviceID] = touches
    }

    /// The latest prompts and notes (up to 50), oldest first.
    public var recentPrompts: [String] { notes.map(\.text) }

    /// A prompt or note, and what it is about: a prompt about a device is shown only while
    /// that device's job is where it was when the prompt was made (same attempt and step,
    /// and for a result, still on its port); any other note for `noteSeconds`.
    struct Note {
        var id: Int
        var text: String
        var deviceID: DeviceID?
        var attempt: Int
        var step: JobStep?
        var port: String?
        var at: Double
    }

    /// How long a note about no device in particular stays on the screen.
    static var noteLifetime: Duration { .seconds(30) }

    /// A prompt, named by slot as the rows are; returns its text and the device it is about.
    public mutating func note(_ prompt: Prompt, state: BenchState, slotName: (String) -> String, at now: Double) -> (text: String, deviceID: DeviceID?) {
        var deviceID: DeviceID?
        var port: String?
        switch prompt {
        case .scanSticker(let at, _):
            port = at
            deviceID = state.ports[at] ?? state.jobs.values.first { $0.step == .waitingForScan && state.port(of: $0) == at }?.deviceID
        case .unplugged(_, let id, _), .resumed(_, let id): deviceID = id
        case .done(let at, let id, _, _): deviceID = id; port = at
        case .scanHeld, .scanDiscarded, .duplicateScan: break
        }
        // Prompts name the slot, as the rows do.
        var text = prompt.description
        if let at = port ?? deviceID.flatMap({ state.jobs[$0] }).map({ state.port(of: $0) }), slotName(at) != at, text.hasPrefix(at + ":") {
            text = slotName(at) + text.dropFirst(at.count)
        }
        note(text, deviceID: deviceID, port: port, job: deviceID.flatMap { state.jobs[$0] }, at: now)
        return (text, deviceID)
    }

    /// A note; `job`: the job of the device it is about, as it is now.
    public mutating func note(_ text: String, deviceID: DeviceID?, port: String?, job: Job?, at now: Double) {
        // A reminder replaces the same prompt still shown, rather than piling up.
        notes.removeAll { $0.text == text && $0.deviceID == deviceID }
        noteCount += 1
        notes.append(Note(id: noteCount, text: text, deviceID: deviceID, attempt: job?.attempt ?? 0, step: job?.step, port: port, at: now))
        if notes.count > 50 { notes.removeFirst(notes.count - 50) }
    }

    func isCurrent(_ note: Note, state: BenchState, now: Double) -> Bool {
        guard let deviceID = note.deviceID else { return now - note.at < Self.noteLifetime.inSeconds }
        guard let job = state.jobs[deviceID] else { return false }
        guard job.attempt == note.attempt, job.step == note.step else { return false }
        if let port = note.port, job.step == .passed || job.step == .failed { return job.port == port }
        return true
    }

    // MARK: The view

    /// The screen's view of `state` at `now`; `elapsed`: how long this run has been going.
    public func view(state: BenchState, slots: [BenchConfig.Slot], slotName: (String) -> String, now: Double, elapsed: Double) -> BenchView {
        // One row per port: the device on it now, else the last one to be there (a device
        // unplugged mid-work, or the latest result, until another device arrives there).
        // Jobs finished in an earlier run (restored from the store, untouched since) are not
        // this run's: they neither take a slot's row nor count.
        // A device its guard is still stopping has no row yet (its job starts once stopped).
        let shownJobs = state.jobs.values.filter { !$0.isUnstarted && ($0.step.isActive || lastTouched[$0.deviceID] != nil) }
        var latest: [String: Job] = [:]
        for job in shownJobs {
            let port = state.port(of: job)
            if let shown = latest[port] {
                let shownHere = shown.port != nil, jobHere = job.port != nil
                if shownHere && !jobHere { continue }
                if shownHere == jobHere && (lastTouched[shown.deviceID] ?? 0) > (lastTouched[job.deviceID] ?? 0) { continue }
            }
            latest[port] = job
        }
        var rows: [BenchView.Row] = []
        for (port, job) in latest {
            var eta: Double?
            if job.step == .flashing, let progress = job.progress, progress.done > 0, let started = job.flashStartedAt {
                let rate = Double(progress.done) / max(0.001, now - started)
                eta = Double(progress.total - progress.done) / rate
            }
            let platform = job.identity.platform
                ?? job.arrival.flatMap { PlatformCatalog.bundled.platform(usbProductID: $0.productID)?.platform.name }
            rows.append(BenchView.Row(slot: slotName(port), port: job.port, deviceID: job.deviceID.rawValue, platform: platform,
                                      serial: job.identity.serialNumber?.rawValue, step: job.step, attempt: job.attempt, progress: job.progress, eta: eta,
                                      failure: job.failure, guardLatency: job.guardLatency))
        }
        rows.sort { ($0.slot, $0.deviceID) < ($1.slot, $1.deviceID) }
        // Configured slots come first, in their order, empty ones too.
        if !slots.isEmpty {
            var ordered: [BenchView.Row] = []
            for slot in slots {
                if let index = rows.firstIndex(where: { $0.slot == slot.name }) {
                    ordered.append(rows.remove(at: index))
                } else {
                    ordered.append(BenchView.Row(slot: slot.name, port: nil, deviceID: "", platform: nil, serial: nil, step: .detected, attempt: 0,
                                                 progress: nil, eta: nil, failure: nil, guardLatency: nil, empty: true))
                }
            }
            rows = ordered + rows
        }
        var detail: BenchView.Detail?
        if let id = detailDevice, let job = state.jobs[id], let failure = job.failure, job.step == .failed {
            detail = .init(slot: slotName(state.port(of: job)), deviceID: id.rawValue, failure: failure)
        }
        let passed = shownJobs.filter { $0.step == .passed }.count
        let protected = shownJobs.filter { $0.step == .failed && $0.failure?.isProtectedUnit == true }.count
        let failed = shownJobs.filter { $0.step == .failed }.count - protected
        let current = Array(notes.filter { isCurrent($0, state: state, now: now) }.suffix(5))
        return BenchView(rows: rows, passed: passed, failed: failed, protected: protected, perHour: elapsed > 0 ? Double(passed) / (max(elapsed, 60) / 3600) : 0,
                         prompts: Array(current.map(\.text)), elapsed: elapsed, detail: detail, banner: banner, promptIDs: current.map(\.id))
    }

}
