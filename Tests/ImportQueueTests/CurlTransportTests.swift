import Curl
import FakeParticleCloud
import Foundation
import ParticleCloud
import Seams
import Testing

/// The libcurl adapter: what it refuses, timeouts, multipart, headers.
@Suite struct CurlTransportTests {
    @Test(arguments: ["http://api.particle.io/v1/devices", "ftp://127.0.0.1/x", "file:///etc/passwd", "not a url",
                      "http://127.0.0.1.nip.io/v1", "http://127.evil.example/v1", "http://1270.0.0.1/", "http://127.0.0.256/"])
    func refusesAnythingButHTTPSOrLoopbackHTTP(url: String) async {
        await #expect(throws: HTTPTransportError.self) { try await CurlHTTPTransport().send(HTTPRequest(method: .get, url: url)) }
    }

    /// A real TLS server (openssl s_server) with a self-signed certificate: the handshake
    /// works, the certificate is not trusted, so the request fails as a TLS error.
    @Test func untrustedCertificatesAreRefused() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func openssl(_ arguments: [String]) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = folder
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        let make = try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "1", "-subj", "/CN=127.0.0.1"])
        make.waitUntilExit()
        let port = Int.random(in: 20000...60000)
        let server = try openssl(["s_server", "-accept", String(port), "-cert", "cert.pem", "-key", "key.pem", "-www", "-quiet"])
        defer { server.terminate() }
        var outcome: HTTPTransportError?
        for _ in 0..<50 {
            do {
                _ = try await CurlHTTPTransport().send(HTTPRequest(method: .get, url: "https://127.0.0.1:\(port)/", connectTimeout: .seconds(2), timeout: .seconds(5)))
                Issue.record("an untrusted certificate was accepted")
                return
            } catch {
                outcome = error
                if case .connect = error { try await Task.sleep(for: .milliseconds(100)); continue }  // s_server still starting
                break
            }
        }
        guard case .tls(let detail) = outcome else { Issue.record("expected a TLS error, got \(String(describing: outcome))"); return }
        #expect(detail.lowercased().contains("certificate"), "\(detail)")
    }

    @Test func totalTimeoutIsATimeout() async throws {
        let cloud = FakeParticleCloud()
        // The server would answer after 120 s; the request's 0.5 s limit ends it before that.
        // Asserted: the timeout, and that the request ended before the server's answer (not
        // a latency: a loaded CI machine took 21.6 s to give up against an earlier 20 s bound).
        cloud.latency = .seconds(120)
        let server = try cloud.serve()
        defer { server.stop() }
        let started = Date()
        await #expect {
            _ = try await CurlHTTPTransport().send(HTTPRequest(method: .get, url: server.baseURL + "/v1/access_tokens/current", timeout: .milliseconds(500)))
        } throws: { error in
            if case .timeout = error as? HTTPTransportError { return true }
            return false
        }
        #expect(Date().timeIntervalSince(started) < 120, "ended before the server answered")
    }

    @Test func multipartFileImportAndHeaders() async throws {
        let bench = try CloudBench(devices: 3)
        let client = bench.client(CloudBench.productToken)
        // The console's "add many devices" file: serial numbers and ICCIDs work too.
        let values = [bench.devices[0].deviceID, bench.devices[1].serial!, bench.devices[2].iccid!]
        let result = try await client.importDevicesFile(values, into: ProductKey(String(CloudBench.productID)), importSIMs: true)
        #expect(values.allSatisfy { result.outcome(for: $0) == .done(alreadyPresent: false) })
        #expect(bench.cloud.members(of: CloudBench.productID).count == 3)
        bench.cloud.inject(.status(429, retryAfter: 7))
        await #expect(throws: CloudError.rateLimited(retryAfter: .seconds(7))) { _ = try await client.tokenInfo() }
        #expect(try await client.productDeviceCount(ProductKey(String(CloudBench.productID))) == 3)
        #expect(try await client.tokenInfo().scopes?.contains("devices:import") == true)
        // The token travels in the header only: no call's path carries it.
        #expect(!bench.cloud.ledger.contains { $0.path.contains(CloudBench.productToken) })
    }
}
