import FirmwareModules
import PropertyBased
import Testing
import Zlib

/// Modules the project writes parse back to the same values, with valid CRC and SHA-256.
@Suite struct ModuleWriterPropertyTests {
    /// Platform IDs the prefix locator counts as known (a written module must be found).
    static let platforms: [UInt16] = [6, 8, 10, 12, 13, 15, 23, 25, 26, 32]

    struct Draw: Sendable, CustomStringConvertible {
        var platform: UInt16
        var function: UInt8
        var index: UInt8
        var version: UInt16
        var start: UInt32
        var reserved: UInt8
        var flags: UInt8
        var dep1: (UInt8, UInt8, UInt16)
        var dep2: (UInt8, UInt8, UInt16)
        var leading: Int
        var payload: [UInt8]
        var product: (UInt16, UInt16)?
        var suffixName: String?
        var prefixAsset: String?
        var description: String {
            "platform \(platform) function \(function)/\(index) v\(version) start 0x\(String(start, radix: 16)) flags \(flags) leading \(leading) payload \(payload.count) product \(String(describing: product)) name \(String(describing: suffixName)) asset \(String(describing: prefixAsset))"
        }
    }

    static let draws = zip(
        zip(Gen.int(in: 0..<platforms.count), Gen.int(in: 1...9), Gen.int(in: 0...3), Gen.int(in: 0...65535),
            Gen.int(in: 0...0x0FFF_0000), Gen.int(in: 0...255)),
        zip(Gen.int(in: 0...3), Gen.int(in: 0...9), Gen.int(in: 0...65535), Gen.int(in: 0...2),
            Gen.uint8().array(of: 0...600), Gen.int(in: 0...3))
    ).map { first, second -> Draw in
        let (p, f, i, v, start, reserved) = first
        let (flagPick, depF, depV, leadingPick, payload, extras) = second
        let leading = [0, 0x184, 0x200][leadingPick]
        // DROP_MODULE_INFO or ENCRYPTED; COMPRESSED and COMBINED change the layout and have their own tests.
        let flags: UInt8 = [0, 0x01, 0x08, 0x09][flagPick]
        let dep1: (UInt8, UInt8, UInt16) = depF == 0 ? (0, 0, 0) : (UInt8(depF), UInt8(i), UInt16(depV))
        let dep2: (UInt8, UInt8, UInt16) = depF % 2 == 0 ? (0, 0, 0) : (UInt8(depF % 9 + 1), 1, UInt16(depV / 2))
        return Draw(
            platform: platforms[p], function: UInt8(f), index: UInt8(i), version: UInt16(v), start: UInt32(start),
            reserved: UInt8(reserved), flags: leading == 0 ? flags : flags & ~0x01, dep1: dep1, dep2: dep2,
            leading: leading, payload: payload,
            product: extras == 0 ? nil : (UInt16(v), UInt16(depV)),
            suffixName: extras >= 2 ? "asset-\(v)" : nil, prefixAsset: extras == 3 && leading == 0 ? "cat-\(depV).txt" : nil)
    }

    static func spec(_ d: Draw) -> ModuleSpec {
        var leadingBytes = [UInt8](repeating: 0, count: d.leading)
        if d.leading > 0 { leadingBytes.replaceSubrange(0..<4, with: [0x00, 0x00, 0x04, 0x20]) }
        let header = ModuleHeader(
            startAddress: d.start, endAddress: 0, reserved: d.reserved, flags: ModuleFlags(rawValue: d.flags),
            version: d.version, platformID: d.platform, function: ModuleFunction(rawValue: d.function), index: d.index,
            dependency: ModuleDependency(function: ModuleFunction(rawValue: d.dep1.0), index: d.dep1.1, version: d.dep1.2),
            dependency2: ModuleDependency(function: ModuleFunction(rawValue: d.dep2.0), index: d.dep2.1, version: d.dep2.2))
        let hash = [UInt8](repeating: 0xAB, count: 32)
        return ModuleSpec(
            header: header, leadingBytes: leadingBytes,
            prefixExtensions: d.prefixAsset.map { [.assetDependency(hashType: 0, hash: hash, name: $0)] } ?? [],
            payload: d.payload, product: d.product.map { (id: $0.0, version: $0.1) },
            suffixExtensions: d.suffixName.map { [.name($0), .hash(type: 0, hash: hash)] } ?? [])
    }

    @Test func writeThenParseGivesTheSameValues() async {
        await propertyCheck(count: 400, input: Self.draws) { draw in
            let spec = Self.spec(draw)
            let bytes: [UInt8]
            let module: FirmwareModule
            do {
                bytes = try ModuleWriter.write(spec)
                module = try FirmwareModule(bytes: bytes)
            } catch {
                Issue.record("\(draw): \(error)")
                return
            }
            #expect(module.prefixOffset == draw.leading)
            var expectedHeader = spec.header
            expectedHeader.endAddress = spec.header.startAddress + UInt32(bytes.count - 4)
            if draw.prefixAsset != nil { expectedHeader.flags.insert(.prefixExtensions) }
            #expect(module.header == expectedHeader)
            #expect(module.sizeMatchesAddresses)
            #expect(module.crcValid)
            #expect(module.sha256MatchesFile && module.sha256Valid)
            #expect(module.productID == (draw.product?.0 ?? (draw.suffixName != nil ? 0xFFFF : nil)))
            #expect(module.productVersion == (draw.product?.1 ?? (draw.suffixName != nil ? 0xFFFF : nil)))
            if let name = draw.suffixName {
                #expect(module.suffix.extensions.map(\.value).contains(.name(name)))
            }
            if let asset = draw.prefixAsset {
                #expect(module.prefixSize % 8 == 0)
                #expect(module.prefixExtensions.contains { if case .assetDependency(_, _, asset) = $0.value { true } else { false } })
            }
            let payloadStart = module.prefixOffset + module.prefixSize
            #expect(Array(bytes[payloadStart..<(payloadStart + draw.payload.count)]) == draw.payload)
        }
    }

    @Test func compressAndCombineRoundTrip() async throws {
        let codec = ZlibDeflateCodec()
        await propertyCheck(count: 100, input: Self.draws, Self.draws) { first, second in
            do {
                var a = first, b = second
                a.flags = 0
                b.flags = 0
                let one = try FirmwareModule(bytes: ModuleWriter.write(Self.spec(a)))
                let two = try FirmwareModule(bytes: ModuleWriter.write(Self.spec(b)))
                let combined = try CombinedModule.combine([ModuleCompression.compress(one, codec: codec), two])
                let parts = try CombinedModule.split(combined)
                #expect(parts.count == 2)
                #expect(parts.allSatisfy { $0.module.crcValid })
                let back = try ModuleCompression.decompress(parts[0].standalone(), codec: codec)
                let same = back.bytes == one.bytes
                #expect(same)
                let second = try parts[1].standalone()
                #expect(second.bytes == two.bytes)
            } catch {
                Issue.record("\(first) + \(second): \(error)")
            }
        }
    }

    @Test func writerRefusesSuffixExtensionsWithoutProductFields() {
        let spec = ModuleSpec(
            header: ModuleHeader(startAddress: 0, endAddress: 0, version: 1, platformID: 13, function: .userPart, index: 1),
            payload: [1, 2, 3], suffixExtensions: [.name("x")])
        #expect(throws: ModuleError.self) { try ModuleWriter.write(spec) }
    }
}
