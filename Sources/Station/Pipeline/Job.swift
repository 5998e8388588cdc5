/// How a device is paired with the sticker the technician scans.
public enum PairingKey: String, Hashable, Sendable, Codable, CaseIterable {
    /// The serial number on the sticker equals the one the device reports (request 21 / `i`).
    case serialNumber = "serial"
    /// Older Electron and E-Series stickers carry the IMEI.
    case imei
    /// No pairing: nothing is scanned.
    case none
}

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
}

/// What the station knows about a device, as far as the job needs it.
public struct JobIdentity: Hashable, Sendable, Codable {
    public var platform: String?
    public var serialNumber: String?
    public var iccid: String?
    public var imei: String?
    public var deviceOSVersion: String?
    public init(platform: String? = nil, serialNumber: String? = nil, iccid: String? = nil, imei: String? = nil, deviceOSVersion: String? = nil) {
        self.platform = platform
        self.serialNumber = serialNumber
        self.iccid = iccid
        self.imei = imei
        self.deviceOSVersion = deviceOSVersion
    }

    public init(_ identity: DeviceIdentity) {
        self.init(platform: identity.platform, serialNumber: identity.serialNumber, iccid: identity.iccid, imei: identity.imei,
                  deviceOSVersion: identity.deviceOSVersion)
    }
    /// This identity, with what it lacks taken from `earlier` (a device resumed in DFU mode
    /// reports no serial, ICCID or IMEI; what it reported before still holds: a device's
    /// identifiers do not change).
    public func filling(from earlier: JobIdentity) -> JobIdentity {
        JobIdentity(platform: platform ?? earlier.platform, serialNumber: serialNumber ?? earlier.serialNumber, iccid: iccid ?? earlier.iccid,
                    imei: imei ?? earlier.imei, deviceOSVersion: deviceOSVersion ?? earlier.deviceOSVersion)
    }
}

/// One device's provisioning job: a plain value with a durable record from the moment the
/// device is seen. `BenchState` moves it; the adapters never do.
public struct Job: Hashable, Sendable, Codable {
    public let deviceID: String
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

    public init(deviceID: String, port: String?, attempt: Int = 1) {
        self.deviceID = deviceID
        self.port = port
        self.attempt = attempt
        step = .detected
        identity = JobIdentity()
        stepLog = []
    }
}
