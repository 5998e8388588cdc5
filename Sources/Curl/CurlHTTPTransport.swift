import CCurl
import CShims
import Foundation
import Seams

/// `Seams.HTTPTransport` over libcurl's easy interface.
///
/// - TLS peer and host verification are always on; plain `http` is refused unless the host
///   is a loopback address (tests, the lab, `station demo`). Only http and https are
///   allowed, and redirects are not followed.
/// - Proxies come from the environment as libcurl reads it (`https_proxy`, `http_proxy`,
///   `no_proxy`).
/// - `curl_easy_perform` blocks, so each request runs on a thread of its own, never on the
///   cooperative pool.
public struct CurlHTTPTransport: HTTPTransport {
    public init() {}

    public func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse {
        try Self.check(request.url)
        let result: Result<HTTPResponse, HTTPTransportError> = await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: Self.perform(request)) }
            thread.name = "curl \(request.method.rawValue)"
            thread.start()
        }
        return try result.get()
    }

    /// https anywhere; http only to loopback.
    static func check(_ text: String) throws(HTTPTransportError) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host else {
            throw .refusedURL(text, reason: "not an absolute URL")
        }
        switch scheme {
        case "https": return
        case "http" where isLoopback(host): return
        case "http": throw .refusedURL(text, reason: "plain http is allowed only to a loopback address; use https")
        default: throw .refusedURL(text, reason: "only http and https are spoken")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        Loopback.isLoopbackHost(host)
    }

    /// What the callbacks write into.
    final class Sink {
        var body: [UInt8] = []
        var headers: [String: String] = [:]
    }

    static func perform(_ request: HTTPRequest) -> Result<HTTPResponse, HTTPTransportError> {
        do {
            _ = try CurlLibrary.info()  // loads libcurl and runs curl_global_init, once
        } catch {
            return .failure(.network(code: Int(CURLE_FAILED_INIT.rawValue), error.description))
        }
        guard let handle = cshim_curl_easy_init() else { return .failure(.network(code: Int(CURLE_FAILED_INIT.rawValue), "curl_easy_init failed")) }
        defer { cshim_curl_easy_cleanup(handle) }
        let sink = Sink()
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { cshim_curl_slist_free_all(headerList) }
        var mime: OpaquePointer?
        defer { cshim_curl_mime_free(mime) }

        func long(_ option: CURLoption, _ value: Int) { _ = cshim_curl_easy_setopt_long(handle, option, value) }
        func text(_ option: CURLoption, _ value: String) { _ = value.withCString { cshim_curl_easy_setopt_pointer(handle, option, $0) } }

        text(CURLOPT_URL, request.url)
        long(CURLOPT_NOSIGNAL, 1)
        long(CURLOPT_SSL_VERIFYPEER, 1)
        long(CURLOPT_SSL_VERIFYHOST, 2)
        long(CURLOPT_FOLLOWLOCATION, 0)
        text(CURLOPT_PROTOCOLS_STR, "http,https")
        long(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request.connectTimeout))
        long(CURLOPT_TIMEOUT_MS, milliseconds(request.timeout))
        for header in request.headers { headerList = cshim_curl_slist_append(headerList, "\(header.name): \(header.value)") }

        switch request.body {
        case .none:
            break
        case .bytes(let bytes, let contentType):
            headerList = cshim_curl_slist_append(headerList, "Content-Type: \(contentType)")
            long(CURLOPT_POSTFIELDSIZE, bytes.count)
            // COPYPOSTFIELDS copies: the bytes need not outlive this call.
            _ = (bytes + [0]).withUnsafeBufferPointer { cshim_curl_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }
        case .multipart(let parts):
            mime = cshim_curl_mime_init(handle)
            for part in parts {
                let item = cshim_curl_mime_addpart(mime)
                cshim_curl_mime_name(item, part.name)
                _ = part.data.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { cshim_curl_mime_data(item, $0.baseAddress, $0.count) }  // copies
                }
                if let fileName = part.fileName { cshim_curl_mime_filename(item, fileName) }
                if let type = part.contentType { cshim_curl_mime_type(item, type) }
            }
            _ = cshim_curl_easy_setopt_pointer(handle, CURLOPT_MIMEPOST, UnsafeRawPointer(mime))
        }
        switch request.method {
        case .get: long(CURLOPT_HTTPGET, 1)
        case .post: if case .none = request.body { text(CURLOPT_CUSTOMREQUEST, "POST"); long(CURLOPT_POSTFIELDSIZE, 0); text(CURLOPT_COPYPOSTFIELDS, "") }
        case .put, .delete: text(CURLOPT_CUSTOMREQUEST, request.method.rawValue)
        case .head: long(CURLOPT_NOBODY, 1)
        }
        if headerList != nil { _ = cshim_curl_easy_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeRawPointer(headerList)) }

        let box = Unmanaged.passRetained(sink)
        defer { box.release() }
        _ = cshim_curl_easy_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, curlBodyCallback)
        _ = cshim_curl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, box.toOpaque())
        _ = cshim_curl_easy_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        _ = cshim_curl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, box.toOpaque())

        let code = cshim_curl_easy_perform(handle)
        guard code == CURLE_OK else { return .failure(map(code, url: request.url)) }
        var status = 0
        _ = cshim_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: sink.headers, body: sink.body))
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000)
    }

    static func map(_ code: CURLcode, url: String) -> HTTPTransportError {
        let detail = "\(String(cString: cshim_curl_easy_strerror(code))) (\(url))"
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT: return .connect(detail)
        case CURLE_OPERATION_TIMEDOUT: return .timeout(detail)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE:
            return .tls(detail)
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT: return .refusedURL(url, reason: detail)
        default: return .network(code: Int(code.rawValue), detail)
        }
    }
}

private func curlBodyCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?) -> Int {
    guard let data, let user else { return 0 }
    let sink = Unmanaged<CurlHTTPTransport.Sink>.fromOpaque(user).takeUnretainedValue()
    let bytes = size * count
    data.withMemoryRebound(to: UInt8.self, capacity: bytes) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: bytes)) }
    return bytes
}

private func curlHeaderCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?) -> Int {
    guard let data, let user else { return 0 }
    let sink = Unmanaged<CurlHTTPTransport.Sink>.fromOpaque(user).takeUnretainedValue()
    let bytes = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: bytes) { String(decoding: UnsafeBufferPointer(start: $0, count: bytes), as: UTF8.self) }
    if line.hasPrefix("HTTP/") {
        sink.headers = [:]  // a new response (after 100 Continue): only the last one's headers count
    } else if let colon = line.firstIndex(of: ":") {
        let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
        let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespacesAndNewlines)
        sink.headers[name] = value
    }
    return bytes
}
