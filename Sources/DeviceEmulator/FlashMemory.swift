import DFU

/// One alt setting's memory: NOR flash (erase sets bytes to 0xFF, programming can only clear
/// bits), allocated on first write so an 8 MB external flash costs nothing until used.
struct FlashMemory: Sendable {
    let layout: DfuSeLayout
    let base: UInt32
    let size: Int
    private var storage: [UInt8]?

    init(layout: DfuSeLayout) {
        self.layout = layout
        base = layout.pages.first?.start ?? 0
        size = Int((layout.pages.last?.end ?? 0) - UInt64(base))
    }

    func contains(_ address: UInt32, count: Int) -> Bool {
        address >= base && UInt64(address) + UInt64(count) <= UInt64(base) + UInt64(size)
    }

    func read(_ address: UInt32, count: Int) -> [UInt8] {
        guard let storage else { return [UInt8](repeating: 0xFF, count: count) }
        let offset = Int(address - base)
        return Array(storage[offset..<(offset + count)])
    }

    /// Programs bytes the way NOR flash does: `old & new`.
    mutating func program(_ address: UInt32, _ bytes: [UInt8]) {
        if storage == nil { storage = [UInt8](repeating: 0xFF, count: size) }
        let offset = Int(address - base)
        storage!.withUnsafeMutableBufferPointer { buffer in
            for (i, byte) in bytes.enumerated() { buffer[offset + i] &= byte }
        }
    }

    /// Writes bytes as they are (factory preload, power-loss damage).
    mutating func store(_ address: UInt32, _ bytes: [UInt8]) {
        if storage == nil { storage = [UInt8](repeating: 0xFF, count: size) }
        let offset = Int(address - base)
        storage!.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    }

    mutating func erase(_ address: UInt32, count: Int) {
        guard storage != nil else { return }
        store(address, [UInt8](repeating: 0xFF, count: count))
    }
}
