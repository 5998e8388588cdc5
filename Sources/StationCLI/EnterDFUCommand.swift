import ArgumentParser
import ControlRequests
import Foundation
import LibUSB
import ParticleDevices
import SerialPort
import Udev

/// `station enter-dfu (--port PATH | --device ID) [--serial]`: asks a normal-mode device for
/// DFU mode (control request 50, or 14400 baud on its serial port with --serial, which works
/// on every Device OS), then waits for it to come back in DFU mode.
struct EnterDFUCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enter-dfu", abstract: "Put a normal-mode device in DFU mode and wait until it is back on the bus.")

    @Option(name: .long, help: "The device at this USB port path.") var port: String?
    @Option(name: .long, help: "The device with this device ID.") var device: String?
    @Flag(name: .long, help: "Use the 14400-baud serial trigger instead of control request 50.") var serial = false
    @Option(name: .long, help: "Seconds to wait for the device in DFU mode.") var timeout = 15

    func validate() throws {
        guard (port == nil) != (device == nil) else { throw ValidationError("Name the device with --port PATH or --device ID.") }
    }

    func run() async throws {
        let catalog = PlatformCatalog.bundled
        let bus: LibUSBBus
        let target: USBDeviceSummary
        let deviceID: String
        do {
            bus = try LibUSBBus(logLevel: .none)
            // The one device selector (`RealDFUDevice.select`), among normal-mode devices.
            target = try await RealDFUDevice.select(bus: bus, port: port, deviceID: device, mode: .normal)
            let opened = try await bus.open(portPath: target.portPath)
            guard let id = (try? await DevicesCommand.serial(opened))??.lowercased() else {
                throw CommandFailure(.unavailable, "DEVICE-NOT-FOUND", "the device at \(target.portPath) did not give its device ID; replug it and retry")
            }
            deviceID = id
            if serial {
                guard let tty = (try? UdevContext().nodes(subsystem: "tty", forPortPath: target.portPath))?.first else {
                    throw CommandFailure(.unavailable, "DEVICE-NO-TTY", "no serial port for \(target.portPath); `station devices` shows the tty.")
                }
                // Opening at 14400 baud is the request; nothing needs to be written.
                _ = try SerialPort(path: tty, baud: 14400)
                print("asked \(deviceID) for DFU mode: 14400 baud on \(tty)")
            } else {
                let transport = try await bus.open(portPath: target.portPath)
                let channel = ControlChannel(transport: transport, clock: ContinuousClock())
                await channel.reset()
                try await ControlRequests(channel: channel).enterDFU()
                print("asked \(deviceID) for DFU mode: control request 50")
            }
        } catch let error as ControlRequestError {
            throw CommandFailure(.failed, error.code, error.description)
        } catch let error as LibUSBError {
            throw CommandFailure(.unavailable, error.code, error.description)
        } catch let error as RealDFUDevice.Failure {
            throw CommandFailure(.unavailable, error.code, error.description)
        }
        // Back on the bus in DFU mode, recognised by its device ID.
        let deadline = Date().addingTimeInterval(TimeInterval(timeout))
        while Date() < deadline {
            try await Task.sleep(for: .milliseconds(250))
            for candidate in (try? await bus.devices(vendorID: catalog.vendorID)) ?? [] where catalog.platform(usbProductID: candidate.productID)?.mode == .dfu {
                guard let opened = try? await bus.open(portPath: candidate.portPath, retry: OpenRetry(attempts: 2)),
                    let id = (try? await DevicesCommand.serial(opened))??.lowercased(), id == deviceID
                else { continue }
                print("\(deviceID) is in DFU mode at \(candidate.portPath)")
                return
            }
        }
        throw CommandFailure(.failed, "ENTER-DFU-TIMEOUT", "\(deviceID) did not come back in DFU mode within \(timeout) s; check it (it may have reset into its firmware) and retry.")
    }
}
