import Seams

/// A keyboard-wedge barcode scanner (USB HID boot keyboard) as the lab serves it over
/// USB/IP: VID:PID 1209:0002, manufacturer "Station Lab", product "Keyboard Scanner".
/// `scan(_:)` types the text and Enter: one key-down and one key-up report per character
/// on the interrupt IN endpoint, as a scanner in its default setting does.
public actor EmulatedKeyboardScanner: USBIPServable {
    public static let vendorID: UInt16 = 0x1209
    public static let productID: UInt16 = 0x0002

    public nonisolated let deviceName = "emulated keyboard scanner"
    var attached = true
    var reports: [[UInt8]] = []
    var waiters: [CheckedContinuation<Void, Never>] = []
    public private(set) var scanned: [String] = []

    /// The HID boot keyboard report descriptor (HID 1.11, appendix B.1).
    static let reportDescriptor: [UInt8] = [
        0x05, 0x01, 0x09, 0x06, 0xA1, 0x01, 0x05, 0x07, 0x19, 0xE0, 0x29, 0xE7, 0x15, 0x00, 0x25, 0x01,
        0x75, 0x01, 0x95, 0x08, 0x81, 0x02, 0x95, 0x01, 0x75, 0x08, 0x81, 0x01, 0x95, 0x05, 0x75, 0x01,
        0x05, 0x08, 0x19, 0x01, 0x29, 0x05, 0x91, 0x02, 0x95, 0x01, 0x75, 0x03, 0x91, 0x01, 0x95, 0x06,
        0x75, 0x08, 0x15, 0x00, 0x25, 0x65, 0x05, 0x07, 0x19, 0x00, 0x29, 0x65, 0x81, 0x00, 0xC0,
    ]

    public init() {}

    /// HID usage and whether Shift is needed, for the characters stickers carry (letters,
    /// digits, the space between serial number and mobile secret, and the AIM symbology
    /// prefix's `]`).
    static func usage(_ character: Character) -> (usage: UInt8, shift: Bool)? {
        guard let ascii = character.asciiValue else { return nil }
        switch ascii {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return (0x04 + ascii - UInt8(ascii: "a"), false)
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return (0x04 + ascii - UInt8(ascii: "A"), true)
        case UInt8(ascii: "1")...UInt8(ascii: "9"): return (0x1E + ascii - UInt8(ascii: "1"), false)
        case UInt8(ascii: "0"): return (0x27, false)
        case UInt8(ascii: "-"): return (0x2D, false)
        case UInt8(ascii: "_"): return (0x2D, true)
        case UInt8(ascii: " "): return (0x2C, false)
        case UInt8(ascii: "["): return (0x2F, false)
        case UInt8(ascii: "]"): return (0x30, false)
        case UInt8(ascii: "\t"): return (0x2B, false)
        default: return nil
        }
    }

    public func scan(_ text: String) {
        scanned.append(text)
        for character in text {
            guard let key = Self.usage(character) else { continue }
            reports.append([key.shift ? 0x02 : 0x00, 0, key.usage, 0, 0, 0, 0, 0])
            reports.append([0, 0, 0, 0, 0, 0, 0, 0])
        }
        reports.append([0, 0, 0x28, 0, 0, 0, 0, 0])  // Enter
        reports.append([0, 0, 0, 0, 0, 0, 0, 0])
        wakeReaders()
    }

    public var isAttached: Bool { attached }
    public func replug() { attached = true }
    public func imported() async {}

    public var deviceDescriptor: [UInt8] { StandardDescriptors.device(vendorID: 0x1209, productID: 0x0002, composite: false) }

    public var configurationDescriptor: [UInt8] {
        let interface: [UInt8] = [9, 0x04, 0, 0, 1, 0x03, 0x01, 0x01, 0]
        let length = Self.reportDescriptor.count
        let hid: [UInt8] = [9, 0x21, 0x11, 0x01, 0x00, 0x01, 0x22, UInt8(length & 0xFF), UInt8(length >> 8)]
        let endpoint: [UInt8] = [7, 0x05, 0x81, 0x03, 8, 0, 10]
        return StandardDescriptors.configuration(interfaces: 1, maxPower: 50, interface + hid + endpoint)
    }

    public func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
        guard attached else { throw .noDevice }
        switch (setup.requestType, setup.request) {
        case (0x80, 6):
            return try StandardDescriptors.answer(setup, device: deviceDescriptor, configuration: configurationDescriptor) { index in
                switch index {
                case 1: "Station Lab"
                case 2: "Keyboard Scanner"
                case 3: "SCANNER0002"
                default: nil
                }
            }
        case (0x81, 6) where setup.value >> 8 == 0x22:  // the HID report descriptor
            return Array(Self.reportDescriptor.prefix(Int(setup.length)))
        case (0x81, 6) where setup.value >> 8 == 0x21:
            return Array(configurationDescriptor[18..<27].prefix(Int(setup.length)))
        case (0x00, 9), (0x01, 11), (0x21, 0x0A), (0x21, 0x0B), (0x21, 0x09):
            return []  // SET_CONFIGURATION, SET_INTERFACE, SET_IDLE, SET_PROTOCOL, SET_REPORT (LEDs)
        case (0xA1, 0x01):
            return Array([UInt8](repeating: 0, count: 8).prefix(Int(setup.length)))  // GET_REPORT
        default:
            throw .stall
        }
    }

    public func endpointOut(_ endpoint: UInt8, _ data: [UInt8]) async -> Bool { false }

    public func endpointIn(_ endpoint: UInt8, maxLength: Int) async -> [UInt8]? {
        guard endpoint == 1 else { return nil }
        while reports.isEmpty {
            await withCheckedContinuation { waiters.append($0) }
            if Task.isCancelled { return [] }
        }
        // One report per polling interval, as a real scanner on a real bus: USB/IP does not
        // enforce bInterval, and an unpaced flood of reports overran the kernel's evdev
        // buffer while the station was busy (SYN_DROPPED, lost keys).
        if let last = lastReport {
            let due = last.advanced(by: Self.reportInterval)
            if ContinuousClock.now < due { try? await Task.sleep(until: due, clock: .continuous) }
        }
        lastReport = ContinuousClock.now
        guard !reports.isEmpty else { return [] }
        return reports.removeFirst()
    }

    /// The endpoint's bInterval (10 ms at full speed, a common keyboard's), the pace of the reports.
    static let reportInterval = Duration.milliseconds(10)
    var lastReport: ContinuousClock.Instant?

    public func wakeReaders() {
        let ready = waiters
        waiters.removeAll()
        for waiter in ready { waiter.resume() }
    }
}
