/// What a probe found out about this machine, as plain values (the CLI gathers them through
/// the adapters; tests make them up).
public struct MachineFacts: Sendable, Equatable {
    public struct LibUSB: Sendable, Equatable {
        public var version: String
        public var supportsHotplug: Bool
        /// Why `libusb_init` failed, when it did.
        public var initError: String?
        public var deviceCount: Int?
        public init(version: String, supportsHotplug: Bool, initError: String? = nil, deviceCount: Int? = nil) {
            self.version = version
            self.supportsHotplug = supportsHotplug
            self.initError = initError
            self.deviceCount = deviceCount
        }
    }
    public struct Udev: Sendable, Equatable {
        /// Why libudev could not be used, when it could not.
        public var error: String?
        /// `/run/udev/control` exists: the udev daemon runs and applies rules.
        public var daemonRunning: Bool
        /// Why the kernel's uevents cannot be heard (the netlink socket did not open), when
        /// they cannot.
        public var kernelUeventsProblem: String?
        public init(error: String? = nil, daemonRunning: Bool, kernelUeventsProblem: String? = nil) {
            self.error = error
            self.daemonRunning = daemonRunning
            self.kernelUeventsProblem = kernelUeventsProblem
        }
        /// How `station run` and `station watch` hear devices arrive on this machine.
        public var arrivals: ArrivalMethod { daemonRunning ? .udevHotplug : .kernelUevents }
    }
    public struct Curl: Sendable, Equatable {
        public var version: String?
        public var tlsBackend: String?
        public var supportsHTTPS: Bool
        public var caBundlePath: String?
        public var caBundleReadable: Bool
        public var error: String?
        public init(version: String?, tlsBackend: String?, supportsHTTPS: Bool, caBundlePath: String?, caBundleReadable: Bool, error: String? = nil) {
            self.version = version
            self.tlsBackend = tlsBackend
            self.supportsHTTPS = supportsHTTPS
            self.caBundlePath = caBundlePath
            self.caBundleReadable = caBundleReadable
            self.error = error
        }
    }
    /// A Particle device on the bus and whether this process may open its node.
    public struct ParticleDevice: Sendable, Equatable {
        public var portPath: String
        public var productID: UInt16
        public var devnode: String
        public var accessible: Bool
        public init(portPath: String, productID: UInt16, devnode: String, accessible: Bool) {
            self.portPath = portPath
            self.productID = productID
            self.devnode = devnode
            self.accessible = accessible
        }
    }
    /// An installed udev rules file that matches Particle's vendor ID.
    public struct RulesFile: Sendable, Equatable {
        public var path: String
        public var ignoresModemManager: Bool
        public init(path: String, ignoresModemManager: Bool) {
            self.path = path
            self.ignoresModemManager = ignoresModemManager
        }
    }

    public var libusb: LibUSB
    public var udev: Udev
    public var curl: Curl
    /// `/dev/bus/usb` exists.
    public var usbfsPresent: Bool
    public var runningAsRoot: Bool
    public var particleDevices: [ParticleDevice]
    public var installedRules: [RulesFile]
    public var modemManagerRunning: Bool

    public init(
        libusb: LibUSB, udev: Udev, curl: Curl, usbfsPresent: Bool, runningAsRoot: Bool,
        particleDevices: [ParticleDevice], installedRules: [RulesFile], modemManagerRunning: Bool
    ) {
        self.libusb = libusb
        self.udev = udev
        self.curl = curl
        self.usbfsPresent = usbfsPresent
        self.runningAsRoot = runningAsRoot
        self.particleDevices = particleDevices
        self.installedRules = installedRules
        self.modemManagerRunning = modemManagerRunning
    }
}

/// How the bench hears devices arrive: libusb's hotplug while udevd runs (Debian's libusb
/// hears only what udevd rebroadcasts), else the kernel's own uevents over netlink. The CLI
/// opens the bus the way this names; the doctor reports it.
public enum ArrivalMethod: String, Sendable, Codable {
    case udevHotplug = "udev"
    case kernelUevents = "kernel"

    public var description: String {
        switch self {
        case .udevHotplug: "libusb hotplug (udev's events)"
        case .kernelUevents: "the kernel's uevents over netlink (udevd is not running)"
        }
    }
}
