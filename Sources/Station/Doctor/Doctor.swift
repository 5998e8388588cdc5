/// How much a finding matters.
public enum CheckStatus: String, Sendable, Codable, Comparable {
    case ok
    /// Provisioning works, something else (cloud sync, hotplug speed) is degraded.
    case warning
    /// Provisioning cannot work until this is fixed.
    case blocking

    private var rank: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .blocking: 2
        }
    }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// One finding: a stable ID, what was found, and what to do about it.
public struct DoctorCheck: Sendable, Codable, Equatable {
    /// Stable, for scripts: `libusb`, `libusb.hotplug`, `udev`, `curl.tls`, ...
    public let id: String
    public let status: CheckStatus
    public let summary: String
    /// What to do; nil when nothing needs doing.
    public let fix: String?

    public init(id: String, status: CheckStatus, summary: String, fix: String?) {
        self.id = id
        self.status = status
        self.summary = summary
        self.fix = fix
    }
}

/// The whole report.
public struct DoctorReport: Sendable, Codable, Equatable {
    public let checks: [DoctorCheck]
    /// The worst status of any check.
    public var status: CheckStatus { checks.map(\.status).max() ?? .ok }
    /// Whether something stops the station from provisioning.
    public var blocksProvisioning: Bool { status == .blocking }

    private enum CodingKeys: String, CodingKey { case status, blocksProvisioning, checks }
    public init(checks: [DoctorCheck]) { self.checks = checks }
    public init(from decoder: any Decoder) throws {
        checks = try decoder.container(keyedBy: CodingKeys.self).decode([DoctorCheck].self, forKey: .checks)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(blocksProvisioning, forKey: .blocksProvisioning)
        try container.encode(checks, forKey: .checks)
    }
}

/// Judges machine facts. Pure: the same facts give the same report.
public enum Doctor {
    /// Where the project's rules live and how to install them (shown in fixes).
    public static let rulesInstallCommand =
        "sudo install -m 0644 udev-rules/50-particle-station.rules /etc/udev/rules.d/ && sudo udevadm control --reload-rules && sudo udevadm trigger"

    public static func evaluate(_ facts: MachineFacts) -> DoctorReport {
        var checks: [DoctorCheck] = []
        checks += libusbChecks(facts)
        checks += udevChecks(facts)
        checks += curlChecks(facts)
        checks += accessChecks(facts)
        return DoctorReport(checks: checks)
    }

    static func libusbChecks(_ facts: MachineFacts) -> [DoctorCheck] {
        let usb = facts.libusb
        var checks: [DoctorCheck] = []
        if let error = usb.initError {
            checks.append(DoctorCheck(
                id: "libusb", status: .blocking, summary: "libusb \(usb.version) cannot start: \(error)",
                fix: "Check that /dev/bus/usb exists and is readable (on a container, pass the USB bus through)."))
        } else {
            let devices = usb.deviceCount.map { ", \($0) USB devices visible" } ?? ""
            checks.append(DoctorCheck(id: "libusb", status: .ok, summary: "libusb \(usb.version) works\(devices)", fix: nil))
        }
        checks.append(usb.supportsHotplug
            ? DoctorCheck(id: "libusb.hotplug", status: .ok, summary: "libusb supports hotplug: devices are seen the moment they are plugged in", fix: nil)
            : DoctorCheck(
                id: "libusb.hotplug", status: .warning,
                summary: "libusb has no hotplug support here: the station falls back to polling the bus, so plugged devices appear up to a second later",
                fix: "Install Debian's libusb-1.0-0 (built with udev) and run systemd-udevd."))
        return checks
    }

    static func udevChecks(_ facts: MachineFacts) -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        if let error = facts.udev.error {
            checks.append(DoctorCheck(
                id: "udev", status: .blocking, summary: "libudev cannot be used: \(error)",
                fix: "Install libudev1 and make sure /sys is mounted."))
        } else {
            checks.append(DoctorCheck(id: "udev", status: .ok, summary: "libudev is present and can enumerate devices", fix: nil))
        }
        checks += arrivalChecks(daemonRunning: facts.udev.daemonRunning, kernelUeventsProblem: facts.udev.kernelUeventsProblem,
                                control: "/run/udev/control", runningAsRoot: facts.runningAsRoot)
        let particleRules = facts.installedRules
        if particleRules.isEmpty {
            checks.append(DoctorCheck(
                id: "udev.rules", status: facts.runningAsRoot ? .warning : .blocking,
                summary: facts.runningAsRoot
                    ? "no udev rules for Particle devices (VID 2b04) are installed; this works only because the station runs as root"
                    : "no udev rules for Particle devices (VID 2b04) are installed: this user cannot open the devices",
                fix: "Install the station's rules: \(rulesInstallCommand); then replug the devices."))
        } else {
            checks.append(DoctorCheck(
                id: "udev.rules", status: .ok,
                summary: "udev rules for Particle devices installed: " + particleRules.map(\.path).joined(separator: ", "), fix: nil))
        }
        if facts.modemManagerRunning {
            let ignored = particleRules.contains(where: \.ignoresModemManager)
            checks.append(ignored
                ? DoctorCheck(
                    id: "modemmanager", status: .ok,
                    summary: "ModemManager is running, and the installed rules tell it to ignore Particle devices", fix: nil)
                : DoctorCheck(
                    id: "modemmanager", status: .blocking,
                    summary: "ModemManager is running and will probe every Particle serial port for about 20 s, sending AT commands that disturb the listening-mode console",
                    fix: "Install the station's rules (they set ID_MM_DEVICE_IGNORE): \(rulesInstallCommand); or remove it: sudo apt-get remove modemmanager."))
        }
        return checks
    }

    /// How arrivals are heard (`usb.arrivals`), and what a stopped udevd costs (`udev.daemon`):
    /// the kernel's uevents stand in for its events, but no rule runs, so the device nodes keep
    /// the kernel's root-only permissions and ModemManager is not told to keep away.
    static func arrivalChecks(daemonRunning: Bool, kernelUeventsProblem: String?, control: String, runningAsRoot: Bool) -> [DoctorCheck] {
        if daemonRunning {
            return [DoctorCheck(id: "usb.arrivals", status: .ok, summary: "arrivals are heard through \(ArrivalMethod.udevHotplug.description)", fix: nil)]
        }
        if let problem = kernelUeventsProblem {
            return [DoctorCheck(
                id: "usb.arrivals", status: .blocking,
                summary: "the udev daemon is not running (\(control) is missing) and the kernel's uevents cannot be heard (\(problem)): no device arriving would be heard, so the no-cloud guard would never stop one",
                fix: "Start systemd-udevd (sudo systemctl start systemd-udevd), then start the station again.")]
        }
        var checks = [DoctorCheck(id: "usb.arrivals", status: .ok, summary: "arrivals are heard through \(ArrivalMethod.kernelUevents.description)", fix: nil)]
        checks.append(runningAsRoot
            ? DoctorCheck(
                id: "udev.daemon", status: .warning,
                summary: "the udev daemon is not running (\(control) is missing): no udev rule is applied, so device nodes stay root-only (this works only because the station runs as root) and ModemManager is not told to ignore Particle devices",
                fix: "Start systemd-udevd (sudo systemctl start systemd-udevd).")
            : DoctorCheck(
                id: "udev.daemon", status: .blocking,
                summary: "the udev daemon is not running (\(control) is missing): no udev rule gives this user access, so the device nodes stay root-only and no device can be opened",
                fix: "Start systemd-udevd (sudo systemctl start systemd-udevd), or run the station as root."))
        return checks
    }

    static func curlChecks(_ facts: MachineFacts) -> [DoctorCheck] {
        let curl = facts.curl
        if let error = curl.error {
            return [DoctorCheck(
                id: "curl", status: .warning,
                summary: "libcurl cannot start (\(error)): devices provision, but the import queue cannot sync to the cloud",
                fix: "Install libcurl4 (Debian's libcurl4-openssl-dev for building).")]
        }
        var checks = [DoctorCheck(id: "curl", status: .ok, summary: "libcurl \(curl.version ?? "?") is present", fix: nil)]
        if curl.supportsHTTPS, let tls = curl.tlsBackend {
            checks.append(DoctorCheck(id: "curl.tls", status: .ok, summary: "libcurl speaks HTTPS through \(tls)", fix: nil))
        } else {
            checks.append(DoctorCheck(
                id: "curl.tls", status: .warning,
                summary: "libcurl has no TLS backend: devices provision, but the import queue cannot reach the Particle cloud",
                fix: "Install Debian's libcurl4 built with OpenSSL (libcurl4-openssl-dev)."))
        }
        if curl.caBundleReadable, let path = curl.caBundlePath {
            checks.append(DoctorCheck(id: "curl.ca", status: .ok, summary: "CA certificates for TLS verification: \(path)", fix: nil))
        } else {
            let path = curl.caBundlePath.map { " (\($0))" } ?? ""
            checks.append(DoctorCheck(
                id: "curl.ca", status: .warning,
                summary: "the CA certificate bundle\(path) is missing or unreadable: cloud sync will fail TLS verification (it is never turned off)",
                fix: "sudo apt-get install ca-certificates"))
        }
        return checks
    }

    static func accessChecks(_ facts: MachineFacts) -> [DoctorCheck] {
        guard facts.usbfsPresent else {
            return [DoctorCheck(
                id: "usb.permissions", status: .blocking, summary: "/dev/bus/usb does not exist: no USB device can be opened",
                fix: "Run the station on the host (or pass /dev/bus/usb into the container or VM).")]
        }
        let devices = facts.particleDevices
        if devices.isEmpty {
            return [DoctorCheck(
                id: "usb.permissions", status: .ok,
                summary: "/dev/bus/usb is present; no Particle device is plugged in, so access to one was not tried", fix: nil)]
        }
        let denied = devices.filter { !$0.accessible }
        if denied.isEmpty {
            return [DoctorCheck(
                id: "usb.permissions", status: .ok,
                summary: "this user can open all \(devices.count) Particle device(s) plugged in", fix: nil)]
        }
        let names = denied.map { "\($0.portPath) (\($0.devnode))" }.joined(separator: ", ")
        return [DoctorCheck(
            id: "usb.permissions", status: .blocking,
            summary: "this user cannot open \(denied.count) of \(devices.count) Particle device(s): \(names)",
            fix: "Install the station's rules (\(rulesInstallCommand)), add this user to the plugdev group (sudo usermod -aG plugdev $USER, then log in again), and replug the devices.")]
    }
}

/// What `station run` and `station watch` check before they start: the few facts without
/// which the bench would run blind (the guard hearing nothing, devices that cannot be
/// opened). Plain values; the CLI gathers them (each path can be pointed elsewhere, so tests
/// can exercise every refusal).
public struct StartFacts: Sendable, Equatable {
    /// How the bench will hear arrivals.
    public var arrivals: ArrivalMethod { udevDaemonRunning ? .udevHotplug : .kernelUevents }
    /// The USB device directory (`/dev/bus/usb`).
    public var usbDirectory: String
    public var usbDirectoryExists: Bool
    public var usbDirectoryReadable: Bool
    /// udevd's control socket (`/run/udev/control`): present while udevd runs.
    public var udevControl: String
    public var udevDaemonRunning: Bool
    /// Why the kernel's uevents cannot be heard, when they cannot (they stand in for udevd's).
    public var kernelUeventsProblem: String?
    /// Installed udev rules that match Particle's vendor ID.
    public var rules: [MachineFacts.RulesFile]
    public var runningAsRoot: Bool

    public init(usbDirectory: String = "/dev/bus/usb", usbDirectoryExists: Bool, usbDirectoryReadable: Bool, udevControl: String = "/run/udev/control",
                udevDaemonRunning: Bool, kernelUeventsProblem: String? = nil, rules: [MachineFacts.RulesFile], runningAsRoot: Bool) {
        self.kernelUeventsProblem = kernelUeventsProblem
        self.usbDirectory = usbDirectory
        self.usbDirectoryExists = usbDirectoryExists
        self.usbDirectoryReadable = usbDirectoryReadable
        self.udevControl = udevControl
        self.udevDaemonRunning = udevDaemonRunning
        self.rules = rules
        self.runningAsRoot = runningAsRoot
    }
}

extension Doctor {
    /// Why the bench must not start, as blocking findings with their fixes (empty: it may).
    public static func startRefusals(_ facts: StartFacts) -> [DoctorCheck] {
        var refusals: [DoctorCheck] = []
        if !facts.usbDirectoryExists {
            refusals.append(DoctorCheck(
                id: "usb.directory", status: .blocking, summary: "the USB device directory \(facts.usbDirectory) does not exist: no device can be seen or opened",
                fix: "Run the station on the machine the hub is plugged into (in a container or VM, pass \(facts.usbDirectory) through)."))
        } else if !facts.usbDirectoryReadable {
            refusals.append(DoctorCheck(
                id: "usb.directory", status: .blocking, summary: "the USB device directory \(facts.usbDirectory) cannot be read by this user",
                fix: "Install the station's udev rules (\(rulesInstallCommand)) and add this user to the plugdev group, then log in again."))
        }
        if facts.rules.isEmpty && !facts.runningAsRoot {
            refusals.append(DoctorCheck(
                id: "udev.rules", status: .blocking, summary: "no udev rule for Particle devices (VID 2b04) is installed, so this user cannot open them",
                fix: "Install the station's rules: \(rulesInstallCommand); then replug the devices."))
        }
        refusals += arrivalChecks(daemonRunning: facts.udevDaemonRunning, kernelUeventsProblem: facts.kernelUeventsProblem,
                                  control: facts.udevControl, runningAsRoot: facts.runningAsRoot).filter { $0.status == .blocking }
        return refusals
    }
}
