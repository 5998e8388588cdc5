import ParticleCloud
import Seams
import StationConfig
import Testing

/// Tokens in replies (issue 15): a server or proxy that echoes the request's headers in an
/// error body put the product token into standard output and the store.
@Suite struct RedactionTests {
    static let token = "0123456789abcdef0123456789abcdef01234567"

    /// Answers every request with `status` and a body that echoes the request's headers.
    struct EchoingServer: HTTPTransport {
        let status: Int
        func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse {
            let echoed = request.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\r\n")
            return HTTPResponse(status: status, body: Array("{\"error\":\"denied\",\"request\":\"\(echoed)\"}".utf8))
        }
    }

    @Test(arguments: [400, 401, 403, 404, 500, 502])
    func anEchoedTokenNeverReachesTheError(status: Int) async {
        let client = ParticleCloudClient(transport: EchoingServer(status: status), baseURL: "https://api.particle.io", token: Token(Self.token))
        do {
            _ = try await client.productDeviceCount(ProductKey("4242"))
            Issue.record("no error")
        } catch {
            #expect(!error.description.contains(Self.token) && !error.description.contains(String(Self.token.prefix(20))), "\(error.description)")
            #expect(error.description.contains("<token>"), "\(error.description)")
        }
    }

    @Test(arguments: [
        ("Authorization: Bearer \(token)", "Authorization: Bearer <token>"),
        ("authorization: bearer abc.def-ghi", "authorization: bearer <token>"),
        ("{\"access_token\":\"\(token)\"}", "{\"access_token\":\"<token>\"}"),
        ("device e00fce68ae40e8a1f5b40001 iccid 89014103211118510720", "device e00fce68ae40e8a1f5b40001 iccid 89014103211118510720"),
    ])
    func tokenShapedTextIsRedactedAndIDsStay(text: String, redacted: String) {
        #expect(Redaction.redact(text) == redacted)
    }

    @Test func theConfiguredSecretIsRedactedWhateverItsShape() {
        #expect(Redaction.redact("x=s3cr3t-Token_value;", secrets: ["s3cr3t-Token_value"]) == "x=<token>;")
    }

    @Test(arguments: [("localhost", true), ("LOCALHOST", true), ("::1", true), ("[::1]", true), ("127.0.0.1", true), ("127.255.0.9", true),
                      ("127.0.0.1.nip.io", false), ("127.evil.example", false), ("1270.0.0.1", false), ("127.0.0.256", false), ("127.1", false),
                      ("128.0.0.1", false), ("localhost.example", false), ("", false)])
    func loopbackIsParsedNotPrefixed(host: String, loopback: Bool) {
        #expect(Loopback.isLoopbackHost(host) == loopback)
    }

    @Test func aStationConfigRefusesPlainHTTPToANameThatLooksLikeLoopback() {
        let text = """
            [station]
            id = "s1"
            [product]
            id = 4242
            platform = "boron"
            [cloud]
            api_base_url = "http://127.0.0.1.nip.io"
            credentials_file = "c.toml"
            """
        #expect(throws: ConfigFileError.self) { try StationConfig.parse(text, file: "s.toml") }
        do { _ = try StationConfig.parse(text, file: "s.toml") } catch {
            #expect(error.key?.contains("api_base_url") == true && error.problem.contains("loopback"), "\(error)")
        }
        #expect((try? StationConfig.parse(text.replacing("127.0.0.1.nip.io", with: "127.0.0.1:8080"), file: "s.toml")) != nil)
    }
}
