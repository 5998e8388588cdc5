import ParticleDevices

/// Where a job is. Persisted with the job, shown on the screen.
public enum JobStep: String, Hashable, Sendable, Codable {
    case detected, identifying, waitingForScan, flashing, finishing, connectivityTest, passed, failed, interrupted

    /// Still to finish (a restarted station resumes these).
    public var isActive: Bool { self != .passed && self != .failed }

    /// How the screen and messages name the step.
    public var label: String {
        switch self {
        case .detected: "detected"
        case .identifying: "identifying"
        case .waitingForScan: "waiting for its scan"
        case .flashing: "flashing"
        case .finishing: "finishing"
        case .connectivityTest: "in its connectivity test"
        case .passed: "passed"
        case .failed: "failed"
        case .interrupted: "unplugged"
        }
    }
}

/// A failure with its stable code and a message the technician can act on.
public struct JobFailure: Hashable, Sendable, Codable {
    public let code: String
    public let message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
    /// The unit is protected (Device Protection) and goes to the online rework bench: not
    /// a failure of the bench (the failure table's next step says so).
    public var isProtectedUnit: Bool { FailureTable.entry(for: code)?.next == .routeToOnlineRework }
}

/// What the station knows about a device, as far as the job needs it: its identifiers as
/// validated values (what the device reported, checked once, at identify).
public struct JobIdentity: Hashable, Sendable, Codable {
    public var platform: String?
    public var serialNumber: SerialNumber?
    public var iccid: ICCID?
    public var imei: IMEI?
    public var deviceOSVersion: String?
    /// Its Device Protection state as it reported it (nil: it could not say).
    public var protection: DeviceProtection?
    public init(platform: String? = nil, serialNumber: SerialNumber? = nil, iccid: ICCID? = nil, imei: IMEI? = nil, deviceOSVersion: String? = nil,
                protection: DeviceProtection? = nil) {
        self.platform = platform
        self.serialNumber = serialNumber
        self.iccid = iccid
        self.imei = imei
        self.deviceOSVersion = deviceOSVersion
        self.protection = protection
    }

    /// What identify read, checked: an identifier the device reported that is not a valid
    /// one (a serial number of the wrong length, an ICCID or IMEI whose check digit is
    /// wrong) stops the job with `IDENTIFY-INVALID`, naming it: the station neither pairs by
    /// it nor imports it. An ICCID's F pad (an odd-length ICCID as some modems report it) is
    /// dropped first.
    public init(checking identity: DeviceIdentity) throws(StepFailure) {
        func check<T: StringIdentifier>(_ text: String?, _ what: String, _ make: (String) throws(IdentifierError) -> T) throws(StepFailure) -> T? {
            guard let text else { return nil }
            do { return try make(text) } catch {
                throw StepFailure("IDENTIFY-INVALID", "the device reported \(what) '\(DeviceIdentity.escaped(text))', which is not a valid one (\(error)). Set it aside for rework")
            }
        }
        self.init(platform: identity.platform,
                  serialNumber: try check(identity.serialNumber, "serial number") { text throws(IdentifierError) in try SerialNumber(text) },
                  iccid: try check(identity.iccid, "ICCID") { text throws(IdentifierError) in try ICCID(Self.unpadded(text)) },
                  imei: try check(identity.imei, "IMEI") { text throws(IdentifierError) in try IMEI(text) },
                  deviceOSVersion: identity.deviceOSVersion, protection: identity.protection)
    }

    /// An ICCID without its trailing F pad.
    static func unpadded(_ iccid: String) -> String {
        iccid.hasSuffix("F") || iccid.hasSuffix("f") ? String(iccid.dropLast()) : iccid
    }

    enum CodingKeys: String, CodingKey { case platform, serialNumber, iccid, imei, deviceOSVersion, protection }

    /// Jobs saved before the identifiers were checked hold them as text: one that is not
    /// valid reads as unknown (it was never paired by, nor imported).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: StringIdentifier>(_ key: CodingKeys, _ make: (String) throws(IdentifierError) -> T) throws -> T? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            return try? make(text)
        }
        platform = try c.decodeIfPresent(String.self, forKey: .platform)
        serialNumber = try read(.serialNumber) { text throws(IdentifierError) in try SerialNumber(text) }
        iccid = try read(.iccid) { text throws(IdentifierError) in try ICCID(Self.unpadded(text)) }
        imei = try read(.imei) { text throws(IdentifierError) in try IMEI(text) }
        deviceOSVersion = try c.decodeIfPresent(String.self, forKey: .deviceOSVersion)
        protection = try c.decodeIfPresent(DeviceProtection.self, forKey: .protection)
    }
    /// This identity, with what it lacks taken from `earlier` (a device resumed in DFU mode
    /// reports no serial, ICCID or IMEI; what it reported before still holds: a device's
    /// identifiers do not change).
    public func filling(from earlier: JobIdentity) -> JobIdentity {
        JobIdentity(platform: platform ?? earlier.platform, serialNumber: serialNumber ?? earlier.serialNumber, iccid: iccid ?? earlier.iccid,
                    imei: imei ?? earlier.imei, deviceOSVersion: deviceOSVersion ?? earlier.deviceOSVersion, protection: protection ?? earlier.protection)
    }
}

/// One device's provisioning job: a plain value with a durable record from the moment the
/// device is seen. `BenchState` moves it; the adapters never do.
public struct Job: Hashable, Sendable, Codable {
    public let deviceID: DeviceID
    /// The USB port path it is on now (nil while it is away).
    public var port: String?
    public var attempt: Int
    public var step: JobStep
    /// Where an interrupted job was.
    public var interruptedAt: JobStep?
    public var identity: JobIdentity
    /// The sticker scanned for it: the value it pairs by (serial number or IMEI).
    public var scan: String?
    /// The mobile secret from a Gen 3 sticker: kept in the station's own store, never shown,
    /// logged or sent anywhere (`station report --include-secrets` exports it).
    public var mobileSecret: String?
    /// Bytes written and to write in the flash step.
    public var progress: Progress?
    public var failure: JobFailure?
    /// Per-step start times (seconds since the job's attempt started), for the record.
    public var stepLog: [StepMark]

    // What the bench's state machine keeps about the device between events, saved with the
    // job so a restarted station knows it too. Times are the bench's clock: seconds since
    // the Unix epoch (`BenchState`'s `now`).

    /// When the current attempt started.
    public var attemptStartedAt: Double?
    /// When it began waiting for its scan, or was last reminded.
    public var waitingSince: Double?
    /// When the attempt passed or failed: a departure and return soon after are the last
    /// step's own re-enumeration, not a new plug-in.
    public var endedAt: Double?
    /// The last port its device was on (prompts about a device that is away; steps find
    /// devices by ID, so a device between ports is named by where it was).
    public var lastPort: String?
    /// Away for a mode switch a step asked for: its return is not a new plug-in, even when
    /// the job finished meanwhile.
    public var switching: Bool
    /// Its identify step announced a mode switch (a DFU-mode arrival is started).
    public var identifySwitch: Bool

    // What the attempt saw and did, for its record and the screen.

    /// How it last arrived: its USB product ID and mode.
    public var arrival: Arrival?
    /// Its latest normal-mode arrival, while the no-cloud guard stops it (the first step of
    /// every such arrival; the arrival counts once it is stopped).
    public var guarding: Guarding?
    /// How long the no-cloud guard took to stop it, in seconds (normal-mode arrivals).
    public var guardLatency: Double?
    /// When the flash step started (the screen's estimate of the time left).
    public var flashStartedAt: Double?
    /// The flash step left it in DFU mode (the finish step starts from there).
    public var inDFUAfterFlash: Bool
    /// The modules it held when identified, and at the end.
    public var modulesBefore: [DeviceIdentity.Module]
    public var modulesAfter: [DeviceIdentity.Module]
    /// What the flash step did with each file.
    public var written: [FlashOutcome.Written]

    public struct Arrival: Hashable, Sendable, Codable {
        public var productID: UInt16
        public var inDFU: Bool
        public init(productID: UInt16, inDFU: Bool) {
            self.productID = productID
            self.inDFU = inDFU
        }
    }

    public struct Guarding: Hashable, Sendable, Codable {
        public var port: String
        public var arrival: Arrival
        /// When the device arrived (bench time).
        public var since: Double
        public init(port: String, arrival: Arrival, since: Double) {
            self.port = port
            self.arrival = arrival
            self.since = since
        }
    }

    public struct Progress: Hashable, Sendable, Codable {
        public var done: Int
        public var total: Int
        public init(done: Int, total: Int) {
            self.done = done
            self.total = total
        }
    }

    public struct StepMark: Hashable, Sendable, Codable {
        public var step: JobStep
        public var at: Double
    }

    public init(deviceID: DeviceID, port: String?, attempt: Int = 1) {
        self.deviceID = deviceID
        self.port = port
        self.attempt = attempt
        step = .detected
        identity = JobIdentity()
        stepLog = []
        switching = false
        identifySwitch = false
        inDFUAfterFlash = false
        modulesBefore = []
        modulesAfter = []
        written = []
    }

    enum CodingKeys: String, CodingKey {
        case deviceID, port, attempt, step, interruptedAt, identity, scan, mobileSecret, progress, failure, stepLog
        case attemptStartedAt, waitingSince, endedAt, lastPort, switching, identifySwitch
        case arrival, guarding, guardLatency, flashStartedAt, inDFUAfterFlash, modulesBefore, modulesAfter, written
    }

    /// Jobs saved before the bench's bookkeeping moved into the job (station 0.13 and
    /// earlier) lack its keys: they read as a job that is not switching, with its last port
    /// its port.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        deviceID = try c.decode(DeviceID.self, forKey: .deviceID)
        port = try c.decodeIfPresent(String.self, forKey: .port)
        attempt = try c.decode(Int.self, forKey: .attempt)
        step = try c.decode(JobStep.self, forKey: .step)
        interruptedAt = try c.decodeIfPresent(JobStep.self, forKey: .interruptedAt)
        identity = try c.decode(JobIdentity.self, forKey: .identity)
        scan = try c.decodeIfPresent(String.self, forKey: .scan)
        mobileSecret = try c.decodeIfPresent(String.self, forKey: .mobileSecret)
        progress = try c.decodeIfPresent(Progress.self, forKey: .progress)
        failure = try c.decodeIfPresent(JobFailure.self, forKey: .failure)
        stepLog = try c.decode([StepMark].self, forKey: .stepLog)
        attemptStartedAt = try c.decodeIfPresent(Double.self, forKey: .attemptStartedAt)
        waitingSince = try c.decodeIfPresent(Double.self, forKey: .waitingSince)
        endedAt = try c.decodeIfPresent(Double.self, forKey: .endedAt)
        lastPort = try c.decodeIfPresent(String.self, forKey: .lastPort) ?? port
        switching = try c.decodeIfPresent(Bool.self, forKey: .switching) ?? false
        identifySwitch = try c.decodeIfPresent(Bool.self, forKey: .identifySwitch) ?? false
        arrival = try c.decodeIfPresent(Arrival.self, forKey: .arrival)
        guarding = try c.decodeIfPresent(Guarding.self, forKey: .guarding)
        guardLatency = try c.decodeIfPresent(Double.self, forKey: .guardLatency)
        flashStartedAt = try c.decodeIfPresent(Double.self, forKey: .flashStartedAt)
        inDFUAfterFlash = try c.decodeIfPresent(Bool.self, forKey: .inDFUAfterFlash) ?? false
        modulesBefore = try c.decodeIfPresent([DeviceIdentity.Module].self, forKey: .modulesBefore) ?? []
        modulesAfter = try c.decodeIfPresent([DeviceIdentity.Module].self, forKey: .modulesAfter) ?? []
        written = try c.decodeIfPresent([FlashOutcome.Written].self, forKey: .written) ?? []
    }
}

extension Job {
    /// A device seen only by its guard so far: nothing has started for it (no port, no
    /// step, nothing saved).
    var isUnstarted: Bool { step == .detected && port == nil && lastPort == nil && stepLog.isEmpty }

    /// A new attempt on the same device (re-plugged after a result, or `r SLOT`): the
    /// attempt's own results go (failure, progress, step marks), and so does the pairing: a
    /// new attempt is scanned again. What the device reported stays.
    public mutating func beginNextAttempt(at now: Double) {
        attempt += 1
        attemptStartedAt = now
        endedAt = nil
        waitingSince = nil
        flashStartedAt = nil
        inDFUAfterFlash = false
        modulesBefore = []
        modulesAfter = []
        written = []
        failure = nil
        progress = nil
        stepLog = []
        scan = nil
        mobileSecret = nil
    }
}
