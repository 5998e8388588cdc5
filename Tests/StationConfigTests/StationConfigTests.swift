import Foundation
import ParticleDevices
import Seams
import StationConfig
import TestSupport
import Testing

/// The cloud part of the station config and the credentials file: the shipped examples load,
/// defaults are documented values, and every mistake names the file, the key and the fix.
@Suite struct StationConfigTests {
    static let minimal = """
        [station]
        id = "bench-1"
        [product]
        id = 12345
        platform = "boron"
        [cloud]
        credentials_file = "creds.toml"
        """

    func example(_ name: String) throws -> StationConfig {
        let url = SharedFixtures.packageRoot.appendingPathComponent("stations/\(name)")
        return try StationConfig.parse(try String(contentsOf: url, encoding: .utf8), file: url.path, extraSections: BenchConfig.sections)
    }

    @Test func theShippedExamplesLoad() throws {
        let boron = try example("boron-line.toml")
        #expect(boron.station.id == "line1-bench1" && boron.product.product == .id(12345) && boron.product.platform.name == "boron")
        #expect(boron.product.skus == ["BRN404X"] && boron.cloud.batchSize == 50 && boron.cloud.nameFromSerial)
        #expect(boron.cloud.shipmentGroup == "20261127_500" && boron.fallback.policy == .off && boron.storePath == nil)
        let tracker = try example("tracker-connectivity-line.toml")
        #expect(tracker.product.product == .slug("fleet-tracker-v2") && tracker.fallback.policy == .always)
        #expect(tracker.cloud.apiBaseURL == StationConfig.defaultAPIBaseURL && tracker.storePath == "/var/lib/station/tracker-e2e-1.sqlite")
    }

    @Test func defaults() throws {
        let config = try StationConfig.parse(Self.minimal, file: "s.toml")
        #expect(config.cloud.apiBaseURL.absoluteString == "https://api.particle.io")
        #expect(config.cloud.batchSize == 50 && config.cloud.importSIMs && !config.cloud.nameFromSerial && config.cloud.shipmentGroup == nil)
        #expect(config.fallback.policy == .off && config.fallback.permanentRefusals == ["invalidDeviceIds", "nonmemberDeviceIds", "protectedDeviceIds"])
        #expect(config.storeLocation(environment: ["XDG_STATE_HOME": "/state"]) == "/state/station/bench-1/station.sqlite")
        #expect(config.storeLocation(environment: ["HOME": "/home/tech"]) == "/home/tech/.local/state/station/bench-1/station.sqlite")
    }

    @Test(arguments: [
        ("[station]\nid = \"b\"\n", "product", "missing"),
        (minimal + "\n[extra]\n", "extra", "unknown key"),
        (minimal.replacingOccurrences(of: "id = \"bench-1\"", with: "id = \"bench 1\""), "station.id", "letters, digits"),
        (minimal.replacingOccurrences(of: "id = 12345", with: "id = 12345\nslug = \"x\""), "product.id", "not both"),
        (minimal.replacingOccurrences(of: "id = 12345\n", with: ""), "product.id", "missing"),
        (minimal.replacingOccurrences(of: "\"boron\"", with: "\"photon\""), "product.platform", "not a platform the station provisions"),
        (minimal.replacingOccurrences(of: "platform = \"boron\"", with: "platform = \"boron\"\nskus = [\"T404\"]"), "product.skus[1]", "not a Boron SKU"),
        (minimal + "\napi_base_url = \"http://api.particle.io\"", "cloud.api_base_url", "https only"),
        (minimal + "\nbatch_size = 0", "cloud.batch_size", "1 to 1000"),
        (minimal + "\nshipment_group = \"Big Batch\"", "cloud.shipment_group", "not a group name"),
        (minimal + "\nimport_sims = \"yes\"", "cloud.import_sims", "true or false"),
        (minimal.replacingOccurrences(of: "credentials_file = \"creds.toml\"", with: ""), "cloud.credentials_file", "missing"),
        (minimal + "\n[fallback]\npolicy = \"sometimes\"", "fallback.policy", "off, on-refusal or always"),
        (minimal + "\n[fallback]\npermanent_refusals = [\"bad\"]", "fallback.permanent_refusals[1]", "import-result array"),
        ("[station\n", nil, "line 1"),
    ] as [(String, String?, String)])
    func mistakesNameTheKeyAndTheFix(text: String, key: String?, words: String) {
        #expect {
            _ = try StationConfig.parse(text, file: "stations/x.toml")
        } throws: { error in
            guard let error = error as? ConfigFileError else { return false }
            return error.key == key && error.description.hasPrefix("stations/x.toml") && error.description.lowercased().contains(words.lowercased())
        }
    }

    @Test func plainHTTPOnlyToLoopback() throws {
        let config = try StationConfig.parse(Self.minimal + "\napi_base_url = \"http://127.0.0.1:8080\"", file: "s.toml")
        #expect(config.cloud.apiBaseURL.port == 8080)
    }

    static let token = "0123456789abcdef0123456789abcdef01234567"

    @Test func credentialsReadableByOthersAreRefusedWithTheFix() {
        for mode: UInt32 in [0o644, 0o640, 0o604, 0o660] {
            #expect {
                _ = try Credentials.parse("product_token = \"\(Self.token)\"", file: "/etc/station/c.toml", mode: mode)
            } throws: { error in
                "\(error)".contains("chmod 600 /etc/station/c.toml")
            }
        }
        #expect(throws: Never.self) { try Credentials.parse("product_token = \"\(Self.token)\"", file: "c.toml", mode: 0o600) }
    }

    @Test func tokensNeverShowInTextOrErrors() throws {
        let credentials = try Credentials.parse("product_token = \"\(Self.token)\"\ntest_account_token = \"\(Self.token)ff\"", file: "c.toml", mode: 0o600)
        #expect(credentials.productToken.bearerValue == Self.token)
        for text in ["\(credentials)", String(describing: credentials), String(reflecting: credentials), "\(credentials.productToken)"] {
            #expect(!text.contains(Self.token), "\(text)")
        }
        let typo = "abc$def" + Self.token
        #expect {
            _ = try Credentials.parse("product_token = \"\(typo)\"", file: "c.toml", mode: 0o600)
        } throws: { error in
            "\(error)".contains("product_token") && !"\(error)".contains(typo)
        }
    }

    @Test func aFallbackNeedsTheTestAccountToken() throws {
        let config = try StationConfig.parse(Self.minimal + "\n[fallback]\npolicy = \"on-refusal\"", file: "s.toml")
        let credentials = try Credentials.parse("product_token = \"\(Self.token)\"", file: "c.toml", mode: 0o400)
        #expect(throws: ConfigFileError.self) { try config.check(credentials, file: "c.toml") }
    }
}
