/// Raw deflate (RFC 1951, no zlib or gzip wrapper), the seam between the pure module format
/// and a real compression library. The `Zlib` adapter implements it.
public protocol DeflateCodec: Sendable {
    /// Inflates a raw deflate stream.
    /// - Parameters:
    ///   - windowBits: 8...15, as the compressed header says.
    ///   - expectedSize: the size the header promises; more output is an error.
    /// - Throws: `DeflateCodecError` with the library's reason.
    func inflateRaw(_ input: ArraySlice<UInt8>, windowBits: Int, expectedSize: Int) throws(DeflateCodecError) -> [UInt8]
    /// Deflates to a raw stream with a 15-bit window (what Device OS expects by default).
    func deflateRaw(_ input: ArraySlice<UInt8>) throws(DeflateCodecError) -> [UInt8]
}

/// A compression library's failure, with its own words.
public struct DeflateCodecError: Error, Sendable, Equatable {
    public let reason: String
    public init(reason: String) { self.reason = reason }
}
