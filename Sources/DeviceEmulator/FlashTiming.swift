/// The physical cost of what a device does: the floor every benchmark compares against.
///
/// Flash: nRF52840 page erase up to 85 ms per 4 KB, 41 us per 32-bit word programmed;
/// STM32F205 sector erase 16 KB about 250 ms, 64 KB about 550 ms, 128 KB about 1 s, about
/// 16 us per word. USB full speed: 64-byte packets at 12 Mbit/s give about 1 MB/s of control
/// payload, plus about 1 ms per control transfer for the setup and status stages.
public struct FlashTiming: Hashable, Sendable {
    /// Erase time per page size in bytes; a size not listed scales linearly from the
    /// smallest entry.
    public var erase: [UInt32: Duration]
    /// Programming time per 32-bit word.
    public var programPerWord: Duration
    /// Control payload throughput in bytes per second.
    public var usbBytesPerSecond: Double
    /// Setup and status stages of one control transfer.
    public var usbPerTransfer: Duration

    public init(erase: [UInt32: Duration], programPerWord: Duration, usbBytesPerSecond: Double, usbPerTransfer: Duration) {
        self.erase = erase
        self.programPerWord = programPerWord
        self.usbBytesPerSecond = usbBytesPerSecond
        self.usbPerTransfer = usbPerTransfer
    }

    public static let fullSpeedUSB = (bytesPerSecond: 1_000_000.0, perTransfer: Duration.milliseconds(1))

    /// nRF52840 (Gen 3).
    public static let nrf52840 = FlashTiming(
        erase: [4096: .milliseconds(85)], programPerWord: .microseconds(41),
        usbBytesPerSecond: fullSpeedUSB.bytesPerSecond, usbPerTransfer: fullSpeedUSB.perTransfer)
    /// STM32F205 (Gen 2).
    public static let stm32f205 = FlashTiming(
        erase: [16 * 1024: .milliseconds(250), 64 * 1024: .milliseconds(550), 128 * 1024: .seconds(1)],
        programPerWord: .microseconds(16),
        usbBytesPerSecond: fullSpeedUSB.bytesPerSecond, usbPerTransfer: fullSpeedUSB.perTransfer)
    /// Everything instantaneous: for fast tests.
    public static let instant = FlashTiming(erase: [:], programPerWord: .zero, usbBytesPerSecond: .infinity, usbPerTransfer: .zero)

    public func eraseTime(pageSize: UInt32) -> Duration {
        if let exact = erase[pageSize] { return exact }
        guard let (size, time) = erase.min(by: { $0.key < $1.key }) else { return .zero }
        return time * (Double(pageSize) / Double(size))
    }

    public func programTime(bytes: Int) -> Duration {
        programPerWord * ((bytes + 3) / 4)
    }

    /// One control transfer carrying `bytes` of data.
    public func transferTime(bytes: Int) -> Duration {
        guard usbBytesPerSecond.isFinite else { return usbPerTransfer }
        return usbPerTransfer + .seconds(Double(bytes) / usbBytesPerSecond)
    }
}

/// What a device did, for the floor and for tests.
public struct FlashCounters: Hashable, Sendable, Codable {
    public var pagesErased = 0
    public var bytesErased = 0
    public var bytesProgrammed = 0
    /// Control payload bytes both ways, read-back included.
    public var bytesTransferred = 0
    public var controlTransfers = 0
    /// Addresses of the pages erased, in order (a page erased twice appears twice).
    public var erasedPages: [UInt32] = []
    /// The modeled time of everything above: the physical floor.
    public var floor: Duration = .zero

    public init() {}

    private enum CodingKeys: String, CodingKey { case pagesErased, bytesErased, bytesProgrammed, bytesTransferred, controlTransfers }
}
