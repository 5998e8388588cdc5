import DFU
import FirmwareModules
import ParticleDevices
import Seams

/// A Particle device in DFU mode, answering control transfers as its bootloader does.
///
/// Gen 3 (nRF52840) and Gen 2 (STM32F205) differ where the bootloaders do: Gen 3 answers
/// leave with dfuMANIFEST, Gen 2 with dfuDNLOAD-IDLE; both report bwPollTimeout 0 and do
/// erase and program work after the DNBUSY status reply, so the next GETSTATUS waits.
public actor EmulatedDFUDevice<C: Clock>: USBControlTransport where C.Duration == Duration {
    public struct Configuration: Sendable {
        public var platform: Platform
        /// 24 hex characters; shown lowercase as the USB serial number.
        public var deviceID: String
        /// Every segment reads `b`: nothing can be read or written over DFU.
        /// Its Device Protection state: protected, it shows every segment `b` and refuses
        /// writes; in Service Mode it is open for now.
        public var protection: DeviceProtection
        public var protected: Bool { protection == .protected }
        /// What UPLOAD block 0 lists (`00 21 41`; `FA` from 6.1.1, `FB` from 6.2.0).
        public var commands: [UInt8]
        public var timing: FlashTiming
        public var faults: [Fault]

        public init(platform: Platform, deviceID: String, protection: DeviceProtection = .open, commands: [UInt8] = [0x00, 0x21, 0x41], timing: FlashTiming? = nil, faults: [Fault] = []) {
            self.platform = platform
            self.deviceID = deviceID.lowercased()
            self.protection = protection
            self.commands = commands
            self.timing = timing ?? (platform.mcu == .stm32f205 ? .stm32f205 : .nrf52840)
            self.faults = faults
        }
    }

    /// What the device is doing on the bus.
    public enum Presence: Hashable, Sendable {
        case attached
        /// Unplugged or powered off (a fault); `replug()` brings it back.
        case detached
        /// It left DFU mode and reset into its firmware.
        case leftDFU
        /// It reset into safe mode (DfuSe 0xFA).
        case safeMode
    }

    enum Pending: Sendable {
        case setAddress(UInt32)
        case erase(UInt32)
        case program(UInt32, [UInt8], lying: Bool)
        case manifest
        case safeMode
        case failure(DFUStatusCode)
    }

    public nonisolated let deviceName: String
    public nonisolated let configuration: Configuration
    let clock: C
    let gen3: Bool
    let layoutStrings: [String]
    var memories: [FlashMemory]
    /// The NCP module it was made with (the Tracker's modem firmware).
    public nonisolated let ncpModule: FirmwareModule?
    /// The NCP module it holds now (a control-request update may replace it).
    var ncp: FirmwareModule?

    var alt: Int = 0
    var state: DFUState = .idle
    var status: DFUStatusCode = .ok
    var pointer: UInt32 = 0
    var pending: Pending?
    var faults: [Fault]
    var chunkCount = 0
    var eraseCount = 0
    var busyUntil: C.Instant
    public internal(set) var presence: Presence = .attached
    public internal(set) var counters = FlashCounters()

    /// Makes a device holding `preload` (written directly, as at the factory) and, on a
    /// Tracker, an NCP module.
    /// - Throws: `EmulatorError` for a platform without DFU alt settings or a preload that
    ///   does not fit the memory.
    public init(_ configuration: Configuration, clock: C, preload: [FirmwareModule] = [], ncp: FirmwareModule? = nil) throws(EmulatorError) {
        guard let alts = configuration.platform.dfuAltSettings, !alts.isEmpty, let usb = configuration.platform.usb else {
            throw .unsupportedPlatform(configuration.platform.name)
        }
        var strings: [String] = []
        var memories: [FlashMemory] = []
        for alt in alts.sorted(by: { $0.alt < $1.alt }) {
            let text = configuration.protected ? Self.protectedLayout(alt.layout) : alt.layout
            strings.append(text)
            do {
                memories.append(FlashMemory(layout: try DfuSeLayout(alt.layout)))
            } catch {
                throw .unsupportedPlatform("\(configuration.platform.name): \(error)")
            }
        }
        self.configuration = configuration
        self.clock = clock
        self.deviceName = "emulated \(configuration.platform.name) \(configuration.deviceID) (\(String(usb.dfuProductID, radix: 16)))"
        self.gen3 = configuration.platform.generation == 3
        self.layoutStrings = strings
        self.memories = memories
        self.ncpModule = ncp
        self.ncp = ncp
        self.faults = configuration.faults
        self.busyUntil = clock.now
        for module in preload {
            let image = module.flashImage
            guard memories[0].contains(image.address, count: image.bytes.count) else {
                throw .preloadDoesNotFit(address: image.address, size: image.bytes.count)
            }
            self.memories[0].store(image.address, Array(image.bytes))
        }
    }

    /// The layout string a device shows: protected devices show every segment as `b`.
    public static func protectedLayoutIf(_ protected: Bool, _ layout: String) -> String {
        protected ? protectedLayout(layout) : layout
    }

    /// Every segment of a protected device reads as `b` (erasable only).
    static func protectedLayout(_ layout: String) -> String {
        var result = ""
        var afterSize = false
        for character in layout {
            if afterSize, ("a"..."g").contains(character) {
                result.append("b")
                afterSize = false
                continue
            }
            afterSize = character == "K" || character == "M" || character == "B"
            result.append(character)
        }
        return result
    }

    // MARK: Test and lab controls

    /// The cable is pulled: transfers fail with no-device until `replug`; flash keeps what it
    /// holds.
    public func unplug() {
        presence = .detached
    }

    /// Writes a module where it belongs, bypassing DFU (what the firmware does when it
    /// applies a control-request update on reset). An NCP module replaces the modem's.
    public func install(_ module: FirmwareModule) throws(EmulatorError) {
        if module.header.function == .ncpFirmware {
            ncp = module
            return
        }
        let image = module.flashImage
        guard memories[0].contains(image.address, count: image.bytes.count) else {
            throw .preloadDoesNotFit(address: image.address, size: image.bytes.count)
        }
        memories[0].store(image.address, Array(image.bytes))
    }

    /// Plugs the device back in after an unplug or power loss: DFU state resets, flash keeps
    /// what it holds.
    public func replug() {
        presence = .attached
        state = .idle
        status = .ok
        pending = nil
        alt = 0
    }

    public func addFault(_ fault: Fault) { faults.append(fault) }

    /// Reads memory directly (not over USB): what is really in flash.
    public func peek(alt: Int = 0, at address: UInt32, count: Int) -> [UInt8] {
        memories[alt].read(address, count: count)
    }

    /// Writes memory directly (not over USB), as a factory or a test would.
    public func poke(alt: Int = 0, at address: UInt32, _ bytes: [UInt8]) {
        memories[alt].store(address, bytes)
    }

    public func resetCounters() { counters = FlashCounters() }

    public var dfuState: DFUState { state }

    // MARK: USBControlTransport

    public func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
        guard presence == .attached else { throw .noDevice }
        let bytes = setup.isIn ? Int(setup.length) : data.count
        counters.controlTransfers += 1
        counters.bytesTransferred += bytes
        await spend(configuration.timing.transferTime(bytes: bytes))
        switch setup.requestType {
        case 0x80, 0x81:
            return try standardIn(setup)
        case 0x00, 0x01:
            return try standardOut(setup)
        case 0x21, 0xA1:
            return try await dfuRequest(setup, data: data)
        default:
            throw .stall
        }
    }

    /// Pays a cost on the device's timeline: the device is busy until then, and a transfer
    /// completes no earlier. Deadlines are absolute, so timer slack does not add up.
    func spend(_ cost: Duration) async {
        let now = clock.now
        let deadline = (busyUntil < now ? now : busyUntil).advanced(by: cost)
        busyUntil = deadline
        counters.floor += cost
        // Sleep on a copy: the actor may take other calls while this one waits.
        if deadline > now { try? await clock.sleep(until: deadline, tolerance: nil) }
    }

    /// Adds work that runs after the current reply (the next transfer waits for it).
    func schedule(_ cost: Duration) {
        let now = clock.now
        busyUntil = (busyUntil < now ? now : busyUntil).advanced(by: cost)
        counters.floor += cost
    }

    func stallToError() -> USBTransferError {
        state = .error
        status = .errStalledPacket
        return .stall
    }
}

/// A device the emulator cannot build.
public enum EmulatorError: Error, Hashable, Sendable, CustomStringConvertible {
    case unsupportedPlatform(String)
    case preloadDoesNotFit(address: UInt32, size: Int)

    public var description: String {
        switch self {
        case .unsupportedPlatform(let name): "the emulator has no DFU description for \(name)"
        case .preloadDoesNotFit(let address, let size): "a preloaded module (\(size) bytes at 0x\(String(address, radix: 16))) does not fit the device's flash"
        }
    }
}
