import Foundation
import StationConfig
import Testing

/// `[line]` and its database URL: libpq's URL forms, no password ever in it, TLS off this
/// machine.
@Suite struct LineConfigTests {
    @Test(arguments: [
        ("postgresql://station@127.0.0.1:5433/line", LineDatabaseURL.Endpoint.tcp(host: "127.0.0.1", port: 5433), LineDatabaseURL.TLSMode.disable),
        ("postgres://station@localhost/line", .tcp(host: "localhost", port: 5432), .disable),
        ("postgresql://station@[::1]:5432/line", .tcp(host: "::1", port: 5432), .disable),
        ("postgresql://station@127.0.0.1/line?sslmode=require", .tcp(host: "127.0.0.1", port: 5432), .require),
        ("postgresql://station@line-db.example:5432/line", .tcp(host: "line-db.example", port: 5432), .verifyFull),
        ("postgresql://station@10.0.0.5/line?sslmode=require", .tcp(host: "10.0.0.5", port: 5432), .require),
        ("postgresql://station@/line?host=/run/postgresql", .socket(folder: "/run/postgresql", port: 5432), .disable),
        ("postgresql://station@/line?host=/tmp/pg&port=6000", .socket(folder: "/tmp/pg", port: 6000), .disable),
    ] as [(String, LineDatabaseURL.Endpoint, LineDatabaseURL.TLSMode)])
    func urlsParse(text: String, endpoint: LineDatabaseURL.Endpoint, tls: LineDatabaseURL.TLSMode) throws {
        let url = try LineDatabaseURL.parse(text)
        #expect(url.endpoint == endpoint && url.tls == tls && url.user == "station" && url.database == "line")
    }

    @Test(arguments: [
        ("postgresql://station:s3cret@127.0.0.1/line", "LINE-PASSWORD-IN-URL"),
        ("postgresql://station:@127.0.0.1/line", "LINE-PASSWORD-IN-URL"),
        ("postgresql://station@127.0.0.1/line?password=s3cret", "LINE-PASSWORD-IN-URL"),
        ("postgresql://station@line-db.example/line?sslmode=disable", "LINE-TLS-REQUIRED"),
        ("postgresql://station@192.168.1.20/line?sslmode=disable", "LINE-TLS-REQUIRED"),
        ("postgresql://station@128.0.0.1/line?sslmode=disable", "LINE-TLS-REQUIRED"),
        ("mysql://station@127.0.0.1/line", "LINE-URL"),
        ("postgresql://station@127.0.0.1/", "LINE-URL"),
        ("postgresql://station@127.0.0.1:99999/line", "LINE-URL"),
        ("postgresql://station@127.0.0.1/line?sslmode=prefer", "LINE-URL"),
    ])
    func unusableURLsAreRefusedWithTheirCode(text: String, code: String) {
        #expect { _ = try LineDatabaseURL.parse(text) } throws: { error in
            guard let error = error as? LineURLError else { return false }
            return error.code == code && !error.description.contains("s3cret")
        }
    }

    @Test func theLineTableIsRead() throws {
        let head = """
            [station]
            id = "bench-a"
            line = "line-1"
            [product]
            id = 4242
            platform = "boron"
            [cloud]
            credentials_file = "credentials.toml"

            """
        let config = try StationConfig.parse(head + "[line]\ndatabase = \"postgresql://station@127.0.0.1/line\"\npassword_file = \"/etc/station/line.pw\"\n", file: "s.toml")
        #expect(config.line?.database.endpoint == .tcp(host: "127.0.0.1", port: 5432) && config.line?.passwordFile == "/etc/station/line.pw")
        #expect(try StationConfig.parse(head, file: "s.toml").line == nil)
        #expect { _ = try StationConfig.parse(head + "[line]\ndatabase = \"postgresql://station:pw@127.0.0.1/line\"\n", file: "s.toml") } throws: { error in
            (error as? ConfigFileError)?.key == "line.database" && (error as? ConfigFileError)?.problem.contains("password") == true
        }
    }
}
