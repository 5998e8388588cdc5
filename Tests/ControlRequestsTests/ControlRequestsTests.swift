import Clocks
import ControlRequests
import FirmwareModules
import PropertyBased
import Seams
import Testing

/// A device's control-request service, scripted: each request type answers a result and
/// reply bytes; INIT can answer BUSY or PENDING first; CHECK stays PENDING a set number of
/// times. Records every transfer.
actor ScriptedService: USBControlTransport {
    nonisolated let deviceName = "scripted device"
    var replies: [UInt16: (result: Int32, data: [UInt8])] = [:]
    var pendingChecks = 0
    var busy = false
    var received: [UInt16: [UInt8]] = [:]
    var log: [String] = []
    var active: [UInt16: (type: UInt16, size: Int)] = [:]
    var nextID: UInt16 = 1
    /// A reply size to announce instead of the real one (a hostile device).
    var announcedSize: UInt32?
    func set(announcedSize: UInt32) { self.announcedSize = announcedSize }

    func answer(_ type: UInt16, result: Int32 = 0, data: [UInt8] = []) { replies[type] = (result, data) }
    func set(pending: Int) { pendingChecks = pending }
    func set(busy: Bool) { self.busy = busy }

    func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
        switch setup.request {
        case 1:
            log.append("INIT \(setup.index) size \(setup.value)")
            if busy { return ServiceReply(status: .busy).encoded }
            let id = nextID
            nextID += 1
            active[id] = (setup.index, Int(setup.value))
            received[id] = []
            return ServiceReply(status: pendingChecks > 0 && setup.value > 0 ? .pending : .ok, id: id).encoded
        case 2:
            log.append("CHECK \(setup.index)")
            guard let request = active[setup.index] else { return ServiceReply(status: .notFound).encoded }
            if pendingChecks > 0 {
                pendingChecks -= 1
                return ServiceReply(status: .pending, id: setup.index).encoded
            }
            if received[setup.index]!.count < request.size { return ServiceReply(status: .ok, id: setup.index).encoded }
            let reply = replies[request.type] ?? (-120, [])
            return ServiceReply(status: .ok, id: setup.index, size: announcedSize ?? (reply.data.isEmpty ? nil : UInt32(reply.data.count)), result: reply.result).encoded
        case 3:
            log.append("SEND \(setup.index) \(data.count)")
            received[setup.index, default: []] += data
            return []
        case 4:
            log.append("RECV \(setup.index) \(setup.length)")
            guard let request = active[setup.index], let reply = replies[request.type] else { throw .stall }
            return Array(reply.data.prefix(Int(setup.length)))
        case 5:
            log.append("RESET \(setup.index)")
            active[setup.index] = nil
            return ServiceReply(status: .ok).encoded
        default:
            throw .stall
        }
    }
}

@Suite struct ProtobufTests {
    /// particle-usb-protocol.md 3.6, byte for byte.
    @Test func encodingsFromTheDocs() {
        #expect(Protobuf.field(1, varint: 300) == [0x08, 0xAC, 0x02], "StartFirmwareUpdateRequest{size 300}")
        #expect(Protobuf.field(1, bytes: [1, 2, 3]) == [0x0A, 0x03, 1, 2, 3], "FirmwareUpdateDataRequest")
        #expect(Protobuf.field(1, bool: false).isEmpty, "FinishFirmwareUpdateRequest{false} is empty")
        #expect(Protobuf.field(1, bool: true) == [0x08, 0x01], "SetDeviceSetupDoneRequest{true}")
        let id = "e00fce68ae40e8a1f5b4c2d3"
        #expect(Protobuf.field(1, string: id) == [0x0A, 0x18] + Array(id.utf8), "GetDeviceIdReply")
        #expect(Protobuf.field(1, string: "8901") + Protobuf.field(2, string: "35") == [0x0A, 4, 0x38, 0x39, 0x30, 0x31, 0x12, 2, 0x33, 0x35])
    }

    @Test func decodesAndSkipsUnknownFields() throws {
        let bytes: [UInt8] = [0x08, 0x96, 0x01, 0x11] + [1, 0, 0, 0, 0, 0, 0, 0] + [0x1A, 2, 0x68, 0x69] + [0x25, 0x78, 0x56, 0x34, 0x12]
        let fields = try Protobuf.fields(bytes)
        #expect(fields.map(\.number) == [1, 2, 3, 4])
        #expect(fields[0].value == .varint(150) && fields[1].value == .fixed64(1) && fields[2].value.string == "hi" && fields[3].value == .fixed32(0x1234_5678))
    }

    @Test func roundTripAndNeverTraps() async {
        let gen = Gen.int(in: 1...40).array(of: 0...12)
        await propertyCheck(count: 300, input: gen) { numbers in
            var bytes: [UInt8] = []
            var expected: [(Int, Protobuf.Value)] = []
            for (i, n) in numbers.enumerated() {
                if i % 2 == 0 {
                    bytes += Protobuf.field(n, varint: UInt64(n * 1000 + 1))
                    expected.append((n, .varint(UInt64(n * 1000 + 1))))
                } else {
                    let payload = (0..<n).map { UInt8($0) }
                    bytes += Protobuf.field(n, bytes: payload)
                    expected.append((n, .bytes(payload)))
                }
            }
            let decoded = try? Protobuf.fields(bytes)
            #expect(decoded?.map(\.number) == expected.map(\.0))
            #expect(decoded?.map(\.value) == expected.map(\.1))
            // Any truncation or byte flip: a value or a typed error, never a trap.
            for cut in 0..<bytes.count { _ = try? Protobuf.fields(Array(bytes.prefix(cut))) }
            for i in bytes.indices { var mutated = bytes; mutated[i] ^= 0xFF; _ = try? Protobuf.fields(mutated) }
        }
    }
}

@Suite struct ControlChannelTests {
    func requests(_ device: ScriptedService) -> ControlRequests {
        ControlRequests(channel: ControlChannel(transport: device, clock: ImmediateClock()))
    }

    @Test func serviceReplyRoundTrip() {
        let reply = ServiceReply(status: .ok, id: 7, size: 300, result: -120)
        #expect(ServiceReply(bytes: reply.encoded) == reply)
        #expect(reply.encoded.prefix(4) == [0x0F, 0, 0, 0])
        #expect(ServiceReply(bytes: [1, 0, 0, 0, 9, 0]) == nil, "unknown status")
        #expect(ServiceReply(bytes: [3, 0, 0]) == nil, "short")
    }

    @Test func typedRequestsDecodeTheirReplies() async throws {
        let device = ScriptedService()
        let id = "E00FCE68AE40E8A1F5B4C2D3"
        await device.answer(20, data: Protobuf.field(1, string: id))
        await device.answer(30, data: Protobuf.field(1, string: "6.2.0") + Protobuf.field(9, varint: 5))  // unknown field 9
        await device.answer(72, data: [0x08, 0x01])
        await device.answer(554, data: Protobuf.field(1, string: "89014103271234567897") + Protobuf.field(2, string: "352753090123454"))
        let requests = requests(device)
        #expect(try await requests.deviceID() == id.lowercased())
        #expect(try await requests.systemVersion() == "6.2.0")
        #expect(try await requests.isListening())
        let cellular = try await requests.cellularIdentity()
        #expect(cellular.iccid == "89014103271234567897" && cellular.imei == "352753090123454")
        await device.answer(72, data: [])
        #expect(try await requests.isListening() == false, "empty reply = NORMAL")
        await device.answer(554, data: Protobuf.field(1, string: "89014103271234567897"))
        #expect(try await requests.cellularIdentity().imei == nil, "before 5.8.0 / 6.1.0: ICCID only")
    }

    @Test func moduleInfoInBothShapes() async throws {
        let device = ScriptedService()
        // Older shape: type 2 (system part), index 1, version 6200, size, validity 0x1E (all
        // passed), one dependency on the bootloader (type 1) 3100.
        let dep = Protobuf.field(1, varint: 1) + Protobuf.field(3, varint: 3100)
        let old = Protobuf.field(1, varint: 2) + Protobuf.field(2, varint: 1) + Protobuf.field(3, varint: 6200) + Protobuf.field(4, varint: 600_000)
            + Protobuf.field(5, varint: 0x1E) + Protobuf.field(6, bytes: dep)
        // New shape: function 5 (user part), checked 0x1E, passed 0x1A (dependencies failed).
        let new = Protobuf.field(1, varint: 5) + Protobuf.field(2, varint: 2) + Protobuf.field(3, varint: 6) + [0x35, 0x1E, 0, 0, 0] + [0x3D, 0x1A, 0, 0, 0]
            + Protobuf.field(9, bytes: Protobuf.field(1, varint: 4) + Protobuf.field(2, varint: 1) + Protobuf.field(3, varint: 6200))
        await device.answer(90, data: Protobuf.field(1, bytes: old) + Protobuf.field(2, bytes: new))
        let modules = try await requests(device).modules()
        #expect(modules.count == 2)
        #expect(modules[0].function == .systemPart && modules[0].version == 6200 && modules[0].isValid && modules[0].size == 600_000)
        #expect(modules[0].dependencies == [ModuleDependency(function: .bootloader, index: 0, version: 3100)])
        #expect(modules[1].function == .userPart && modules[1].index == 2 && !modules[1].isValid && modules[1].failures == 0x04)
        #expect(modules[1].dependencies == [ModuleDependency(function: .systemPart, index: 1, version: 6200)])
    }

    /// particle.cloud.FirmwareModule's field 8, `optional bytes hash` (SHA-256): 32 bytes are
    /// the module's hash, in hex; another length, or the older shape (which has no hash), nil.
    @Test func theNewerShapeCarriesTheModuleHash() async throws {
        let device = ScriptedService()
        let hash = (0..<32).map { UInt8(0xA0 &+ $0) }
        func module(_ version: UInt64, hash: [UInt8]?) -> [UInt8] {
            Protobuf.field(1, varint: 2) + Protobuf.field(2, varint: 1) + Protobuf.field(3, varint: version) + [0x35, 0x1E, 0, 0, 0] + [0x3D, 0x1E, 0, 0, 0]
                + (hash.map { Protobuf.field(8, bytes: $0) } ?? []) + Protobuf.field(11, varint: 600_000)
        }
        let old = Protobuf.field(1, varint: 2) + Protobuf.field(2, varint: 1) + Protobuf.field(3, varint: 6200) + Protobuf.field(8, bytes: hash)
        await device.answer(90, data: Protobuf.field(2, bytes: module(6200, hash: hash)) + Protobuf.field(2, bytes: module(6201, hash: Array(hash.prefix(31))))
                                + Protobuf.field(2, bytes: module(6202, hash: nil)) + Protobuf.field(1, bytes: old))
        let modules = try await requests(device).modules()
        #expect(modules.map(\.sha256) == ["a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf", nil, nil, nil])
        #expect(modules[0].size == 600_000 && modules[0].isValid)
    }

    @Test func pendingIsCheckedWithBackoffThenPayloadAndReplyTravelInChunks() async throws {
        let device = ScriptedService()
        await device.set(pending: 3)
        await device.answer(250, data: Protobuf.field(1, varint: 1024))
        await device.answer(253)
        await device.answer(251)
        let module = (0..<5000).map { UInt8($0 & 0xFF) }
        try await requests(device).updateFirmware(module)
        let log = await device.log
        #expect(log.prefix(5) == ["INIT 250 size 3", "CHECK 1", "CHECK 1", "CHECK 1", "CHECK 1"], "\(log)")
        #expect(log.filter { $0.hasPrefix("INIT 253") }.count == 5, "5000 bytes in chunks of the device's 1024")
        #expect(log.contains("INIT 251 size 0") && !log.contains { $0.hasPrefix("INIT 252") })
        let big = ScriptedService()
        await big.answer(30, data: Protobuf.field(1, string: String(repeating: "x", count: 9000)))
        #expect(try await requests(big).systemVersion().count == 9000)
        #expect(await big.log.filter { $0.hasPrefix("RECV") } == ["RECV 1 4096", "RECV 1 4096", "RECV 1 811"])
    }

    /// Sizes from a device are not trusted (issue 14): the chunk size 250 returns went
    /// through `Int(UInt64)` (a trap past Int.max) and a reply could announce 4 GiB, then be
    /// received 4 KiB at a time.
    @Test(arguments: [UInt64(ControlChannel.maximumPayload - 15), UInt64(Int.max) + 1, UInt64.max])
    func aChunkSizeOutsideThePayloadIsRefusedAndTheUpdateCancelled(chunk: UInt64) async {
        let device = ScriptedService()
        await device.answer(250, data: Protobuf.field(1, varint: chunk))
        await device.answer(252)
        await #expect { try await requests(device).updateFirmware([1, 2, 3]) } throws: { error in
            guard let error = error as? ControlRequestError, case .decode(let reason) = error.kind else { return false }
            return reason.contains("\(chunk)-byte chunks")
        }
        let log = await device.log
        #expect(!log.contains { $0.hasPrefix("INIT 253") } && log.contains { $0.hasPrefix("INIT 252") }, "\(log)")
    }

    @Test(arguments: [UInt32.max, UInt32(ControlChannel.maximumPayload) + 1])
    func aReplyAnnouncingMoreThanThePayloadIsRefusedBeforeReceiving(size: UInt32) async {
        let device = ScriptedService()
        await device.answer(30, data: Protobuf.field(1, string: "6.2.0"))
        await device.set(announcedSize: size)
        await #expect { _ = try await requests(device).systemVersion() } throws: { error in
            guard let error = error as? ControlRequestError, case .decode(let reason) = error.kind else { return false }
            return reason.contains("\(size)-byte reply")
        }
        #expect(await !device.log.contains { $0.hasPrefix("RECV") })
    }

    @Test func failingResultsAreNamedErrorsAndAFailedUpdateIsCancelled() async {
        let device = ScriptedService()
        await device.answer(554, result: -120)
        await #expect { _ = try await requests(device).cellularIdentity() } throws: { error in
            guard let error = error as? ControlRequestError else { return false }
            return error.code == "CTRL-NOT-SUPPORTED" && error.description.contains("does not support")
        }
        await device.answer(250, data: Protobuf.field(1, varint: 1024))
        await device.answer(253, result: -290)
        await device.answer(252)
        await #expect { try await requests(device).updateFirmware([1, 2, 3]) } throws: { error in
            (error as? ControlRequestError)?.code == "CTRL-OUT-OF-RANGE"
        }
        #expect(await device.log.contains { $0.hasPrefix("INIT 252") }, "cancelled after the failure")
        #expect(ControlResult(rawValue: -1801).name == "DEVICE_PROTECTED" && ControlResult(rawValue: -999).name == "UNKNOWN(-999)")
    }

    @Test func busyIsAnErrorAndATimeoutResetsTheRequest() async {
        let device = ScriptedService()
        await device.set(busy: true)
        await #expect { _ = try await requests(device).deviceID() } throws: { ($0 as? ControlRequestError)?.code == "CTRL-BUSY" }
        let slow = ScriptedService()
        await slow.set(pending: 1000)
        await slow.answer(73)
        var channel = ControlChannel(transport: slow, clock: ImmediateClock())
        channel.timeouts.request = .seconds(3)
        await #expect { try await ControlRequests(channel: channel).setSetupDone() } throws: { ($0 as? ControlRequestError)?.code == "CTRL-TIMEOUT" }
        #expect(await slow.log.last == "RESET 1", "the request is reset on timeout")
    }

    @Test func legacyRequests() async throws {
        actor Legacy: USBControlTransport {
            nonisolated let deviceName = "legacy"
            var commands: [UInt16] = []
            func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
                guard setup.request == 0x50 else { throw .stall }
                if setup.requestType == 0x40 { commands.append(setup.index); return [] }
                switch setup.index {
                case 20: return Array("E00FCE68AE40E8A1F5B4C2D3".utf8)
                case 30: return Array("1.5.2".utf8) + [0, 0, 0]
                default: throw .stall
                }
            }
        }
        let device = Legacy()
        let legacy = LegacyRequests(transport: device)
        #expect(try await legacy.deviceID() == "e00fce68ae40e8a1f5b4c2d3")
        #expect(try await legacy.systemVersion() == "1.5.2")
        try await legacy.abortCloudConnection()
        try await legacy.reset()
        #expect(await device.commands == [302, 40])
    }
}
