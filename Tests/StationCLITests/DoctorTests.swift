import Station
import Testing

@Suite struct DoctorTests {
    static func facts(
        usbfs: Bool = true, root: Bool = false, devices: [MachineFacts.ParticleDevice] = [],
        rules: [MachineFacts.RulesFile] = [.init(path: "/etc/udev/rules.d/50-particle-station.rules", ignoresModemManager: true)],
        modemManager: Bool = false, hotplug: Bool = true, initError: String? = nil, tls: String? = "OpenSSL/3.0.15",
        caReadable: Bool = true
    ) -> MachineFacts {
        MachineFacts(
            libusb: .init(version: "1.0.26", supportsHotplug: hotplug, initError: initError, deviceCount: 3),
            udev: .init(daemonRunning: true),
            curl: .init(version: "7.88.1", tlsBackend: tls, supportsHTTPS: tls != nil, caBundlePath: "/etc/ssl/certs/ca-certificates.crt", caBundleReadable: caReadable),
            usbfsPresent: usbfs, runningAsRoot: root, particleDevices: devices, installedRules: rules,
            modemManagerRunning: modemManager)
    }

    func status(_ report: DoctorReport, _ id: String) -> CheckStatus? { report.checks.first { $0.id == id }?.status }

    @Test func aReadyMachinePasses() {
        let report = Doctor.evaluate(Self.facts(devices: [.init(portPath: "1-1.3", productID: 0xC00D, devnode: "/dev/bus/usb/001/004", accessible: true)]))
        #expect(report.status == .ok)
        #expect(!report.blocksProvisioning)
    }

    @Test func deniedDeviceBlocksAndSaysHowToFix() throws {
        let report = Doctor.evaluate(Self.facts(devices: [.init(portPath: "1-1.3", productID: 0xD00D, devnode: "/dev/bus/usb/001/004", accessible: false)]))
        #expect(report.blocksProvisioning)
        let check = try #require(report.checks.first { $0.id == "usb.permissions" })
        #expect(check.summary.contains("1-1.3"))
        #expect(check.fix?.contains("udev-rules/50-particle-station.rules") == true)
    }

    @Test(arguments: [
        (Self.facts(usbfs: false), "usb.permissions", CheckStatus.blocking),
        (Self.facts(rules: []), "udev.rules", .blocking),
        (Self.facts(root: true, rules: []), "udev.rules", .warning),
        (Self.facts(rules: [], modemManager: true), "modemmanager", .blocking),
        (Self.facts(modemManager: true), "modemmanager", .ok),
        (Self.facts(hotplug: false), "libusb.hotplug", .warning),
        (Self.facts(initError: "LIBUSB_ERROR_IO"), "libusb", .blocking),
        (Self.facts(tls: nil), "curl.tls", .warning),
        (Self.facts(caReadable: false), "curl.ca", .warning),
    ])
    func findings(facts: MachineFacts, id: String, expected: CheckStatus) {
        #expect(status(Doctor.evaluate(facts), id) == expected)
    }

    @Test func warningsAloneDoNotBlock() {
        let report = Doctor.evaluate(Self.facts(hotplug: false, tls: nil))
        #expect(report.status == .warning)
        #expect(!report.blocksProvisioning)
    }
}

/// What `station run` and `station watch` refuse to start on: each blind spot, alone.
@Suite struct StartRefusalTests {
    static let rules = [MachineFacts.RulesFile(path: "/etc/udev/rules.d/50-particle-station.rules", ignoresModemManager: true)]

    static func facts(exists: Bool = true, readable: Bool = true, udevd: Bool = true, netlink: String? = nil, rules: [MachineFacts.RulesFile] = rules, root: Bool = false) -> StartFacts {
        StartFacts(usbDirectoryExists: exists, usbDirectoryReadable: readable, udevDaemonRunning: udevd, kernelUeventsProblem: netlink, rules: rules, runningAsRoot: root)
    }

    @Test(arguments: [
        (facts(), [String]()),
        (facts(exists: false, readable: false), ["usb.directory"]),
        (facts(readable: false), ["usb.directory"]),
        (facts(rules: []), ["udev.rules"]),
        (facts(rules: [], root: true), []),
        // Without udevd no rule makes the nodes this user's; as root the kernel's uevents
        // stand in for udevd's and the bench starts.
        (facts(udevd: false), ["udev.daemon"]),
        (facts(udevd: false, root: true), []),
        (facts(udevd: false, netlink: "socket(NETLINK_KOBJECT_UEVENT) failed", root: true), ["usb.arrivals"]),
        (facts(netlink: "socket(NETLINK_KOBJECT_UEVENT) failed"), []),
        (facts(exists: false, readable: false, udevd: false, rules: []), ["usb.directory", "udev.rules", "udev.daemon"]),
    ])
    func eachBlindSpotIsARefusalWithItsFix(facts: StartFacts, expected: [String]) {
        let refusals = Doctor.startRefusals(facts)
        #expect(refusals.map(\.id) == expected)
        for refusal in refusals { #expect(refusal.status == .blocking && refusal.fix?.isEmpty == false) }
    }

    @Test func theDoctorCallsAStoppedUdevdBlockingForAUserAndAWarningForRoot() {
        var facts = DoctorTests.facts()
        facts.udev.daemonRunning = false
        #expect(Doctor.evaluate(facts).checks.first { $0.id == "udev.daemon" }?.status == .blocking)
        facts.runningAsRoot = true
        #expect(Doctor.evaluate(facts).checks.first { $0.id == "udev.daemon" }?.status == .warning)
    }

    @Test func theDoctorNamesHowArrivalsAreHeard() throws {
        var facts = DoctorTests.facts()
        let withUdevd = try #require(Doctor.evaluate(facts).checks.first { $0.id == "usb.arrivals" })
        #expect(withUdevd.status == .ok && withUdevd.summary.contains("libusb hotplug"))
        facts.udev.daemonRunning = false
        facts.runningAsRoot = true
        let without = try #require(Doctor.evaluate(facts).checks.first { $0.id == "usb.arrivals" })
        #expect(without.status == .ok && without.summary.contains("the kernel's uevents over netlink"))
        #expect(facts.udev.arrivals == .kernelUevents)
        facts.udev.kernelUeventsProblem = "socket(NETLINK_KOBJECT_UEVENT) failed"
        let deaf = try #require(Doctor.evaluate(facts).checks.first { $0.id == "usb.arrivals" })
        #expect(deaf.status == .blocking && deaf.summary.contains("no device arriving would be heard"))
    }
}
