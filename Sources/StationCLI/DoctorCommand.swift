import ArgumentParser
import Station

/// `station doctor`: checks that this machine can run a station.
struct DoctorCommand: ParsableCommand, JSONOutputCommand {
    var printsJSON: Bool { json }
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that this machine can provision devices, and say how to fix what is missing.",
        discussion: """
            Checks libusb (version, hotplug), libudev, libcurl (version, TLS backend, CA \
            certificates), access to /dev/bus/usb and to any Particle device plugged in, the \
            station's udev rules, and ModemManager. Exits 1 when something blocks provisioning; \
            warnings alone exit 0.
            """)

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let found = Doctor.evaluate(MachineProbe.gather())
        let report = DoctorReport(checks: [DoctorCheck(id: "station", status: .ok, summary: "station \(StationVersion.current)", fix: nil)] + found.checks)
        if json {
            print(try JSONOutput.render(report))
        } else {
            print(Self.text(report))
        }
        if report.blocksProvisioning { throw StationExitCode.failed.exitCode }
    }

    static func text(_ report: DoctorReport) -> String {
        var lines: [String] = []
        for check in report.checks {
            let mark = switch check.status {
            case .ok: "ok     "
            case .warning: "WARNING"
            case .blocking: "BLOCKS "
            }
            lines.append("[\(mark)] \(check.id): \(check.summary)")
            if let fix = check.fix, check.status != .ok { lines.append("          fix: \(fix)") }
        }
        lines.append("")
        let verdict = switch report.status {
        case .ok: "This machine is ready to provision devices."
        case .warning: "This machine can provision devices; see the warnings above."
        case .blocking: "This machine cannot provision devices until the BLOCKS lines are fixed."
        }
        lines.append(verdict)
        return lines.joined(separator: "\n")
    }
}
