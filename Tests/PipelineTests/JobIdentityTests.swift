import Foundation
import ParticleDevices
import Station
import Testing

/// What a device reports is checked once, at identify, into the job's typed identifiers.
@Suite struct JobIdentityTests {
    func reported(serial: String? = nil, iccid: String? = nil, imei: String? = nil) -> DeviceIdentity {
        var identity = DeviceIdentity(port: "1-1", mode: .normal)
        identity.platform = "boron"
        identity.serialNumber = serial
        identity.iccid = iccid
        identity.imei = imei
        return identity
    }

    @Test func validIdentifiersAreKeptAndAnFPadIsDropped() throws {
        let job = try JobIdentity(checking: reported(serial: "p0aaaaaaaaaaaaa", iccid: "89014103211118510720", imei: "352753090123454"))
        #expect(job.serialNumber?.rawValue == "P0AAAAAAAAAAAAA" && job.iccid?.rawValue == "89014103211118510720" && job.imei?.rawValue == "352753090123454")
        // A 19-digit ICCID padded to 20 with F, as some modems report it.
        let padded = try JobIdentity(checking: reported(iccid: "8988216716970004973F"))
        #expect(padded.iccid?.rawValue == "8988216716970004973")
        #expect(try JobIdentity(checking: reported()).serialNumber == nil, "nothing reported: nothing known")
    }

    @Test(arguments: [
        ("serial number", DeviceIdentity.Field.serial("P0SHORT")),
        ("ICCID", .iccid("89014103211118510721")),
        ("IMEI", .imei("352753090123455")),
    ])
    func anInvalidIdentifierStopsTheJobNamingIt(what: String, field: DeviceIdentity.Field) {
        let identity: DeviceIdentity
        switch field {
        case .serial(let text): identity = reported(serial: text)
        case .iccid(let text): identity = reported(iccid: text)
        case .imei(let text): identity = reported(imei: text)
        }
        do {
            _ = try JobIdentity(checking: identity)
            Issue.record("\(what) accepted")
        } catch {
            #expect(error.failure.code == "IDENTIFY-INVALID" && error.failure.message.contains("reported \(what)"), "\(error.failure.message)")
            #expect(FailureTable.entry(for: "IDENTIFY-INVALID")?.next == .setAsideForRework)
        }
    }

    /// A job saved before the identifiers were typed holds them as text; one that is not
    /// valid reads as unknown instead of making the whole store unreadable.
    @Test func aJobSavedWithTextIdentifiersStillReads() throws {
        let old = #"{"deviceID":"e00fce68ae40e8a1f5b40001","port":"1-1","attempt":1,"step":"flashing","identity":{"platform":"boron","serialNumber":"P0AAAAAAAAAAAAA","iccid":"89014103211118510721","imei":"352753090123454"},"stepLog":[]}"#
        let job = try JSONDecoder().decode(Job.self, from: Data(old.utf8))
        #expect(job.identity.serialNumber?.rawValue == "P0AAAAAAAAAAAAA" && job.identity.imei?.rawValue == "352753090123454")
        #expect(job.identity.iccid == nil, "a wrong check digit reads as unknown")
        // And a job written now reads back the same.
        let again = try JSONDecoder().decode(Job.self, from: JSONEncoder().encode(job))
        #expect(again == job)
    }
}

extension DeviceIdentity {
    enum Field: Sendable { case serial(String), iccid(String), imei(String) }
}
