import ControlRequests
import Seams

/// A device's control-request service that accepts every request and answers with the
/// input: the announced size, the result code and the reply payload are all fuzzed. Every
/// typed request decodes it (device ID, serial, versions, cellular identity, modules,
/// firmware update).
final class FuzzedService: USBControlTransport, @unchecked Sendable {
    let deviceName = "fuzzed service"
    let payload: [UInt8]
    let announced: UInt32
    let result: Int32
    let pending: Int
    var checks = 0
    init(_ input: [UInt8]) {
        let head = Array(input.prefix(9)) + [UInt8](repeating: 0, count: max(0, 9 - input.count))
        announced = head[0] & 1 == 0 ? UInt32(max(0, input.count - 9)) : UInt32(head[1]) << 24 | UInt32(head[2]) << 16 | UInt32(head[3]) << 8 | UInt32(head[4])
        result = head[5] & 1 == 0 ? 0 : -Int32(head[6]) * 10
        pending = Int(head[7] % 4)
        payload = Array(input.dropFirst(9))
    }
    func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
        switch setup.request {
        case 1: return ServiceReply(status: .ok, id: 1).encoded
        case 2:
            checks += 1
            if checks <= pending { return ServiceReply(status: .pending, id: 1).encoded }
            return ServiceReply(status: .ok, id: 1, size: announced == 0 ? nil : announced, result: result).encoded
        case 3: return []
        case 4:
            let start = min(payload.count, Int(setup.value))
            return Array(payload[start..<min(payload.count, start + Int(setup.length))])
        default: return ServiceReply(status: .ok).encoded
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControlReply(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    Fuzz.blocking {
        let requests = ControlRequests(channel: ControlChannel(transport: FuzzedService(bytes), clock: InstantClock()))
        _ = try? await requests.deviceID()
        _ = try? await requests.serialNumber()
        _ = try? await requests.systemVersion()
        _ = try? await requests.isListening()
        _ = try? await requests.cellularIdentity()
        _ = try? await requests.modules()
        _ = try? await requests.updateFirmware([UInt8](repeating: 1, count: 3000))
    }
    return 0
}
