import CZlib
import FirmwareModules

/// Raw deflate through zlib. Stateless and thread-safe: every call owns its own `z_stream`.
public struct ZlibDeflateCodec: DeflateCodec {
    public init() {}

    /// The zlib version linked at run time (`zlibVersion()`).
    public static var version: String { String(cString: zlibVersion()) }

    /// Inflates in pieces: the output grows only with what the stream really produces, so
    /// a header promising 4 GiB in a 128-byte file allocates nothing past what inflates.
    /// More than `expectedSize` bytes (or a size past `FirmwareModule.maximumSize`) is an
    /// error.
    public func inflateRaw(_ input: ArraySlice<UInt8>, windowBits: Int, expectedSize: Int) throws(DeflateCodecError) -> [UInt8] {
        guard (0...FirmwareModule.maximumSize).contains(expectedSize) else {
            throw DeflateCodecError(reason: "\(expectedSize) bytes promised, more than any Particle module (\(FirmwareModule.maximumSize))")
        }
        var stream = z_stream()
        try check(inflateInit2_(&stream, -Int32(windowBits), ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)), &stream, "inflateInit2")
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = Array(input)
        var status = Z_OK
        input.withUnsafeMutableBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = uInt(inBuffer.count)
            while status == Z_OK && output.count <= expectedSize {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { outBuffer in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = uInt(outBuffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return outBuffer.count - Int(stream.avail_out)
                }
                output += chunk[0..<produced]
                // No progress with all input used: the stream ends early.
                if status == Z_BUF_ERROR || (status == Z_OK && produced == 0 && stream.avail_in == 0) { break }
            }
        }
        if output.count > expectedSize {
            throw DeflateCodecError(reason: "the stream inflates past the \(expectedSize) bytes promised")
        }
        guard status == Z_STREAM_END else {
            if status == Z_BUF_ERROR || status == Z_OK {
                throw DeflateCodecError(reason: "the stream ends early, after \(output.count) of \(expectedSize) bytes")
            }
            throw error(status, &stream, "inflate")
        }
        return output
    }

    public func deflateRaw(_ input: ArraySlice<UInt8>) throws(DeflateCodecError) -> [UInt8] {
        var stream = z_stream()
        try check(
            deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)),
            &stream, "deflateInit2")
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let status = Self.finish(&stream, input: input, output: &output) { deflate(&$0, Z_FINISH) }
        guard status == Z_STREAM_END else { throw error(status, &stream, "deflate") }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    /// Points the stream at the whole input and output and runs one `Z_FINISH` step.
    private static func finish(
        _ stream: inout z_stream, input: ArraySlice<UInt8>, output: inout [UInt8], step: (inout z_stream) -> Int32
    ) -> Int32 {
        var input = Array(input)
        return input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                return step(&stream)
            }
        }
    }

    /// The choke point for zlib return codes.
    private func check(_ status: Int32, _ stream: inout z_stream, _ call: String) throws(DeflateCodecError) {
        guard status == Z_OK else { throw error(status, &stream, call) }
    }

    private func error(_ status: Int32, _ stream: inout z_stream, _ call: String) -> DeflateCodecError {
        let message = stream.msg.map { String(cString: $0) } ?? "code \(status)"
        return DeflateCodecError(reason: "zlib \(call) failed: \(message) (\(status))")
    }
}
