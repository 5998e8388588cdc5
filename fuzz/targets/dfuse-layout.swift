import DFU

/// DfuSe memory layouts as a device's alt-setting string gives them, then the lookups the
/// flash planner makes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLayout(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    guard let layout = try? DfuSeLayout(String(decoding: bytes, as: UTF8.self)) else { return 0 }
    for page in layout.pages.prefix(64) {
        _ = layout.page(containing: UInt64(page.start))
        _ = layout.pages(overlapping: UInt64(page.start), count: Int(min(page.size, 1 << 20)))
    }
    _ = layout.isProtected
    _ = layout.pages(overlapping: 0, count: 1 << 20)
    return 0
}
