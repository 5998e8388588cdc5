import DFU
import Seams

/// A DFU device whose every reply (GETSTATUS, GETSTATE, UPLOAD) comes from the input: the
/// session's status loop, erase, write, read and leave, on a clock that never waits.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDFUStatus(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    _ = DFUStatus(bytes: Array(bytes.prefix(6)))
    _ = USBStringDescriptor.decode(bytes)
    Fuzz.blocking {
        guard let layout = try? DfuSeLayout("@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka") else { return }
        let session = DfuSeSession(transport: ScriptedTransport(bytes), clock: InstantClock(), layout: layout, transferSize: 64,
                                   timeouts: DFUTimeouts(transfer: .seconds(1), busy: .seconds(2), maximumPolls: 50))
        _ = try? await session.status()
        _ = try? await session.ensureIdle()
        _ = try? await session.erase(page: 0x1000)
        _ = try? await session.write([UInt8](repeating: 0xA5, count: 200), at: 0x1000)
        _ = try? await session.read(at: 0x1000, count: 300)
        _ = try? await session.supportedCommands()
        _ = try? await session.leave()
    }
    return 0
}
