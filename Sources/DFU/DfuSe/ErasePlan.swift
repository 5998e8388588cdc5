/// Which pages a set of writes needs erased: exactly the pages the bytes overlap, each once,
/// never a non-erasable page, minus pages whose current content already equals the target.
public enum ErasePlan {
    /// One write: bytes at an address.
    public struct Write: Hashable, Sendable {
        public let address: UInt32
        public let bytes: [UInt8]
        public init(address: UInt32, bytes: [UInt8]) {
            self.address = address
            self.bytes = bytes
        }
        public var end: UInt64 { UInt64(address) + UInt64(bytes.count) }
    }

    /// Why a write cannot be planned.
    public enum Refusal: Error, Hashable, Sendable {
        /// Part of the write lies outside the layout.
        case outsideLayout(address: UInt64)
        /// A page the write touches cannot be written.
        case notWritable(page: UInt32)
        /// Two writes cover the same byte.
        case overlappingWrites(address: UInt64)
    }

    /// Pages to erase for `writes`, in address order, each once. Pages that are writable but
    /// not erasable (Gen 3 DCT) are written without erasing.
    public static func pages(for writes: [Write], in layout: DfuSeLayout) throws(Refusal) -> [DfuSeLayout.Page] {
        let sorted = writes.filter { !$0.bytes.isEmpty }.sorted { $0.address < $1.address }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.end > UInt64(b.address) {
            throw .overlappingWrites(address: UInt64(b.address))
        }
        var result: [DfuSeLayout.Page] = []
        for write in sorted {
            guard let pages = layout.pages(overlapping: UInt64(write.address), count: write.bytes.count) else {
                throw .outsideLayout(address: UInt64(write.address))
            }
            for page in pages {
                guard page.attributes.contains(.writable) else { throw .notWritable(page: page.start) }
                if page.attributes.contains(.erasable), result.last != page { result.append(page) }
            }
        }
        return result
    }
}
