import Curl
import Foundation
import LibUSB
import ParticleDevices
import Station
import TextFormats
import Udev

/// Gathers `MachineFacts` through the adapters and the file system. Synchronous and
/// blocking: it runs on the command's own thread, never on the cooperative pool.
enum MachineProbe {
    static let particleVendorID: UInt16 = 0x2B04
    static let rulesDirectories = ["/etc/udev/rules.d", "/run/udev/rules.d", "/usr/lib/udev/rules.d", "/lib/udev/rules.d"]

    /// Where the USB device directory, udevd's control socket and the rules directories
    /// are: the usual places, or what `STATION_USB_DIR`, `STATION_UDEV_CONTROL` and
    /// `STATION_UDEV_RULES_DIRS` (colon-separated) say (for tests of each refusal).
    struct Paths {
        var usbDirectory = "/dev/bus/usb"
        var udevControl = "/run/udev/control"
        var rulesDirectories = MachineProbe.rulesDirectories

        init(environment: [String: String] = ProcessInfo.processInfo.environment) {
            if let value = environment["STATION_USB_DIR"], !value.isEmpty { usbDirectory = value }
            if let value = environment["STATION_UDEV_CONTROL"], !value.isEmpty { udevControl = value }
            if let value = environment["STATION_UDEV_RULES_DIRS"], !value.isEmpty { rulesDirectories = value.split(separator: ":").map(String.init) }
        }
    }

    /// What `station run` and `station watch` check before they start.
    static func startFacts(_ paths: Paths = Paths()) -> StartFacts {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: paths.usbDirectory, isDirectory: &isDirectory) && isDirectory.boolValue
        let udevd = FileManager.default.fileExists(atPath: paths.udevControl)
        return StartFacts(
            usbDirectory: paths.usbDirectory, usbDirectoryExists: exists, usbDirectoryReadable: exists && access(paths.usbDirectory, R_OK | X_OK) == 0,
            udevControl: paths.udevControl, udevDaemonRunning: udevd, kernelUeventsProblem: udevd ? nil : LibUSBBus.kernelUeventsProblem()?.description,
            rules: installedRules(paths.rulesDirectories), runningAsRoot: geteuid() == 0)
    }

    /// How this machine hears arrivals now: udevd's events through libusb, or the kernel's
    /// uevents when udevd does not run.
    static func arrivalSource() -> ArrivalSource { startFacts().arrivals == .kernelUevents ? .kernel : .udev }

    /// A bus opened to hear arrivals the way `arrivals` says, and the Particle devices'
    /// arrivals and departures on it: what `station watch` and `station devices --watch` share.
    static func watchParticleDevices(arrivals: ArrivalSource) throws(CommandFailure) -> (bus: LibUSBBus, events: AsyncStream<USBBusEvent>) {
        do {
            let bus = try LibUSBBus(logLevel: .none, arrivals: arrivals)
            return (bus, try bus.watch(vendorID: PlatformCatalog.bundled.vendorID))
        } catch {
            throw CommandFailure(.unavailable, error.code, error.description)
        }
    }

    /// Refuses to start (exit 69) when the bench would run blind: one line per problem,
    /// each with its fix, on standard error. Else says once, on standard error, when
    /// arrivals are heard from the kernel because udevd does not run, and returns how.
    static func refuseToRunBlind(_ command: String) throws -> ArrivalSource {
        let facts = startFacts()
        let refusals = Doctor.startRefusals(facts)
        guard !refusals.isEmpty else {
            if facts.arrivals == .kernelUevents {
                FileHandle.standardError.write(Data("station \(command): udevd is not running (\(facts.udevControl) is missing); arrivals are heard from the kernel's uevents over netlink and devices are opened through /dev/bus/usb\n".utf8))
            }
            return facts.arrivals == .kernelUevents ? .kernel : .udev
        }
        for refusal in refusals {
            FileHandle.standardError.write(Data("station \(command) does not start: \(refusal.summary). Fix: \(refusal.fix ?? "see station doctor")\n".utf8))
        }
        throw StationExitCode.unavailable.exitCode
    }

    static func gather() -> MachineFacts {
        let files = FileManager.default
        let paths = Paths()
        var usbFacts = MachineFacts.LibUSB(version: LibUSBLibrary.version, supportsHotplug: LibUSBLibrary.supportsHotplug)
        var libusbDevices: [USBDeviceSummary] = []
        do {
            let context = try LibUSBContext(logLevel: .none)
            libusbDevices = try context.devices()
            usbFacts.deviceCount = libusbDevices.count
        } catch {
            usbFacts.initError = error.description
        }

        var udevFacts = MachineFacts.Udev(
            daemonRunning: files.fileExists(atPath: paths.udevControl), kernelUeventsProblem: LibUSBBus.kernelUeventsProblem()?.description)
        var udevDevices: [UdevUSBDevice] = []
        do {
            udevDevices = try UdevContext().usbDevices(vendorID: particleVendorID)
        } catch {
            udevFacts.error = error.description
        }

        let curlFacts: MachineFacts.Curl
        do {
            let info = try CurlLibrary.info()
            curlFacts = MachineFacts.Curl(
                version: info.version, tlsBackend: info.tlsBackend, supportsHTTPS: info.supportsHTTPS,
                caBundlePath: info.caBundlePath,
                caBundleReadable: info.caBundlePath.map(files.isReadableFile(atPath:)) ?? false)
        } catch {
            curlFacts = MachineFacts.Curl(
                version: nil, tlsBackend: nil, supportsHTTPS: false, caBundlePath: nil, caBundleReadable: false,
                error: error.description)
        }

        return MachineFacts(
            libusb: usbFacts, udev: udevFacts, curl: curlFacts,
            usbfsPresent: files.fileExists(atPath: paths.usbDirectory),
            runningAsRoot: geteuid() == 0,
            particleDevices: particleDevices(libusb: libusbDevices, udev: udevDevices),
            installedRules: installedRules(paths.rulesDirectories),
            modemManagerRunning: processRunning(named: "ModemManager"))
    }

    /// Particle devices from libusb's list (or udev's, when libusb could not start), with
    /// whether this process may open each node read-write.
    static func particleDevices(libusb: [USBDeviceSummary], udev: [UdevUSBDevice]) -> [MachineFacts.ParticleDevice] {
        var found: [MachineFacts.ParticleDevice] = libusb
            .filter { $0.vendorID == particleVendorID }
            .map { .init(portPath: $0.portPath, productID: $0.productID, devnode: $0.deviceNode, accessible: access($0.deviceNode, R_OK | W_OK) == 0) }
        if found.isEmpty {
            found = udev.compactMap { device in
                guard let node = device.devnode else { return nil }
                return .init(portPath: device.sysname, productID: device.productID ?? 0, devnode: node, accessible: access(node, R_OK | W_OK) == 0)
            }
        }
        return found
    }

    /// Installed rules files that match Particle's vendor ID.
    static func installedRules(_ directories: [String] = rulesDirectories) -> [MachineFacts.RulesFile] {
        var rules: [MachineFacts.RulesFile] = []
        for directory in directories {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names.sorted() where name.hasSuffix(".rules") {
                let path = directory + "/" + name
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
                let active = TextLines.split(text).filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
                guard active.contains(where: { $0.lowercased().contains("2b04") }) else { continue }
                rules.append(.init(path: path, ignoresModemManager: active.contains { $0.contains("ID_MM_DEVICE_IGNORE") }))
            }
        }
        return rules
    }

    /// Whether a process with this command name runs (`/proc/*/comm`).
    static func processRunning(named name: String) -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
        for entry in entries where entry.allSatisfy(\.isNumber) {
            if let comm = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8),
                comm.trimmingCharacters(in: .whitespacesAndNewlines) == name
            {
                return true
            }
        }
        return false
    }
}
