import ControlRequests

/// Protobuf payloads of control-request replies, decoded field by field and nested.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtobuf(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    guard let fields = try? Protobuf.fields(bytes) else { return 0 }
    for field in fields.prefix(100) {
        if case .bytes(let inner) = field.value { _ = try? Protobuf.fields(inner) }
    }
    _ = ServiceReply(bytes: Array(bytes.prefix(64)))
    return 0
}
