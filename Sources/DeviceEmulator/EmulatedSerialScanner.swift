import Foundation
import Seams

/// A USB-serial (CDC ACM) barcode scanner, as the lab serves it over USB/IP: VID:PID
/// 1209:0001 (pid.codes' test ID), manufacturer "Station Lab", product "Serial Scanner".
/// `scan(_:)` sends the text followed by CR, as a scanner in its default suffix setting does.
public actor EmulatedSerialScanner: USBIPServable {
    public static let vendorID: UInt16 = 0x1209
    public static let productID: UInt16 = 0x0001

    public nonisolated let deviceName = "emulated serial scanner"
    var attached = true
    var output: [UInt8] = []
    var waiters: [CheckedContinuation<Void, Never>] = []
    var lineCoding: [UInt8] = [0x80, 0x25, 0x00, 0x00, 0x00, 0x00, 0x08]  // 9600 8N1
    /// Everything scanned so far.
    public private(set) var scanned: [String] = []

    public init() {}

    public func scan(_ text: String) {
        scanned.append(text)
        output += Array(text.utf8) + [0x0D]
        wakeReaders()
    }

    public var isAttached: Bool { attached }
    public func replug() { attached = true }
    public func imported() async {}

    public var deviceDescriptor: [UInt8] { StandardDescriptors.device(vendorID: 0x1209, productID: 0x0001, composite: true) }

    public var configurationDescriptor: [UInt8] { StandardDescriptors.configuration(interfaces: 2, maxPower: 50, StandardDescriptors.cdcACM()) }

    public func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
        guard attached else { throw .noDevice }
        switch (setup.requestType, setup.request) {
        case (0x80, 6):
            return try StandardDescriptors.answer(setup, device: deviceDescriptor, configuration: configurationDescriptor) { index in
                switch index {
                case 1: "Station Lab"
                case 2: "Serial Scanner"
                case 3: "SCANNER0001"
                default: nil
                }
            }
        case (0x00, 9), (0x01, 11), (0x21, 0x22):
            return []
        case (0x21, 0x20):
            guard data.count == 7 else { throw .stall }
            lineCoding = data
            return []
        case (0xA1, 0x21):
            return Array(lineCoding.prefix(Int(setup.length)))
        default:
            throw .stall
        }
    }

    public func endpointOut(_ endpoint: UInt8, _ data: [UInt8]) async -> Bool { endpoint == 1 }

    public func endpointIn(_ endpoint: UInt8, maxLength: Int) async -> [UInt8]? {
        switch endpoint {
        case 1:
            while output.isEmpty {
                await withCheckedContinuation { waiters.append($0) }
                if Task.isCancelled { return [] }
            }
            let chunk = Array(output.prefix(maxLength))
            output.removeFirst(chunk.count)
            return chunk
        case 2:
            while !Task.isCancelled { await withCheckedContinuation { waiters.append($0) } }
            return []
        default:
            return nil
        }
    }

    public func wakeReaders() {
        let ready = waiters
        waiters.removeAll()
        for waiter in ready { waiter.resume() }
    }
}
