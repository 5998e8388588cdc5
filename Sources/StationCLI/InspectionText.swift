import FirmwareModules

/// The human-readable form of `station inspect`.
enum InspectionText {
    static func render(_ result: InspectResult) -> String {
        switch result {
        case .failed(let file, let code, let message):
            return "\(file)\n  FAILED [\(code)]: \(message)\n"
        case .inspected(let report):
            return render(report, indent: "  ")
        }
    }

    static func render(_ r: ModuleInspection, indent: String) -> String {
        var lines = [r.file]
        let platform = r.platformName.map { "\($0) (\(r.platformID))" } ?? "unknown platform \(r.platformID)"
        lines.append(r.crc.valid ? "CRC is ok (\(r.crc.stored))" : "CRC is BAD: stored \(r.crc.stored), computed \(r.crc.computed)")
        lines.append(r.sha256Valid ? "SHA-256 is ok" : "SHA-256 does not match the contents (stored \(r.sha256Field.stored))")
        lines.append("Compiled for \(platform)")
        let family = switch r.moduleFunction {
        case Int(ModuleFunction.radioStack.rawValue): "SoftDevice"
        case Int(ModuleFunction.ncpFirmware.rawValue): "NCP firmware"
        default: "Device OS"
        }
        let release = r.deviceOSRelease.map { " (\(family) \($0))" } ?? ""
        lines.append("This is a \(r.moduleFunctionName) module, index \(r.moduleIndex), version \(r.moduleVersion)\(release)")
        lines.append("It is positioned at 0x\(r.moduleStartAddy) to 0x\(r.moduleEndAddy); prefix at offset \(r.prefixOffset), \(r.prefixSize) bytes")
        if !r.sizeMatchesAddresses { lines.append("The file size does not match its addresses (end - start + 4)") }
        for dependency in [r.dependency, r.dependency2] where dependency.func != 0 {
            let name = ModuleFunction(rawValue: UInt8(clamping: dependency.func)).name
            lines.append("It depends on a \(name) module, index \(dependency.index), version \(dependency.version) or later")
        }
        if r.flags != 0 { lines.append("Flags: 0x\(String(r.flags, radix: 16)) \(r.flagNames.joined(separator: ", "))") }
        lines.append(r.productId >= 0 ? "Product ID \(r.productId), version \(r.productVersion)" : "No product ID or version (suffix of \(r.suffixSize) bytes)")
        if let header = r.compressedHeader {
            lines.append("Compressed: raw deflate at offset \(header.offset), \(header.originalSize) bytes when inflated")
        }
        var text = lines[0] + "\n" + lines.dropFirst().map { indent + $0 }.joined(separator: "\n") + "\n"
        for nested in (r.decompressed ?? []) + (r.parts ?? []) {
            text += indent + render(nested, indent: indent + "  ")
        }
        return text
    }
}
