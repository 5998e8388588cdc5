import ParticleCloud
import Seams

/// Particle cloud responses: status, headers and body from the input, through every call
/// the import queue makes.
final class FuzzedCloud: HTTPTransport, @unchecked Sendable {
    let response: HTTPResponse
    init(_ input: [UInt8]) {
        let statuses = [200, 200, 200, 201, 400, 401, 403, 404, 429, 500, 503, 302]
        let status = input.first.map { statuses[Int($0) % statuses.count] } ?? 200
        let retry = input.count > 1 ? ["Retry-After": String(decoding: input[1..<min(input.count, 4)], as: UTF8.self)] : [:]
        response = HTTPResponse(status: status, headers: retry, body: Array(input.dropFirst(4)))
    }
    func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse { response }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCloud(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    Fuzz.blocking {
        let client = ParticleCloudClient(transport: FuzzedCloud(bytes), baseURL: "http://127.0.0.1:9", token: Token("fuzz"))
        let product = ProductKey("4242")
        _ = try? await client.importDevices(["e00fce68ae40e8a1f5b40001"], into: product, importSIMs: true)
        _ = try? await client.importDevicesFile(["e00fce68ae40e8a1f5b40001"], into: product, importSIMs: false)
        _ = try? await client.productDevices(product)
        _ = try? await client.productDeviceCount(product)
        _ = try? await client.device("e00fce68ae40e8a1f5b40001", in: product)
        _ = try? await client.importSIMs(["89014103211118510720"], into: product)
    }
    return 0
}
