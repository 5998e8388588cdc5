import DFU
import Seams

extension EmulatedDFUDevice {
    /// DFU class requests (DFU 1.1 + DfuSe), with the fault hooks.
    func dfuRequest(_ setup: ControlSetup, data: [UInt8]) async throws(USBTransferError) -> [UInt8] {
        guard let request = DFURequest(rawValue: setup.request) else { throw stallToError() }
        switch request {
        case .download: return try download(block: setup.value, data: data)
        case .upload: return try upload(block: setup.value, length: Int(setup.length))
        case .getStatus: return try await getStatus()
        case .clearStatus:
            guard state == .error else { throw stallToError() }
            state = .idle
            status = .ok
            return []
        case .getState: return [state.rawValue]
        case .abort:
            guard [.idle, .downloadIdle, .uploadIdle, .downloadSync, .manifestSync].contains(state) else { throw stallToError() }
            state = .idle
            pending = nil
            return []
        case .detach: return []
        }
    }

    var memory: FlashMemory { memories[alt] }

    func download(block: UInt16, data: [UInt8]) throws(USBTransferError) -> [UInt8] {
        guard state == .idle || state == .downloadIdle else { throw stallToError() }
        if data.isEmpty {
            pending = .manifest
            state = .manifestSync
            return []
        }
        if block == 0 { return try dfuSeCommand(data) }
        guard block >= 2 else {
            // DNLOAD with wValue 1: errTARGET on Particle bootloaders.
            pending = .failure(.errTarget)
            state = .downloadSync
            return []
        }
        chunkCount += 1
        if take({ if case .stallAtChunk(let n) = $0 { n == chunkCount } else { false } }) { throw stallToError() }
        if take({ if case .statusErrorAtChunk(let n, _) = $0 { n == chunkCount } else { false } }, matched: { fault in
            if case .statusErrorAtChunk(_, let code) = fault { pending = .failure(code) }
        }) {
            state = .downloadSync
            return []
        }
        let address = UInt32(block - 2) &* 4096 &+ pointer
        guard !configuration.protected else {
            pending = .failure(.errVendor)
            state = .downloadSync
            return []
        }
        guard memory.contains(address, count: data.count),
            let pages = memory.layout.pages(overlapping: UInt64(address), count: data.count),
            pages.allSatisfy({ $0.attributes.contains(.writable) })
        else {
            pending = .failure(.errAddress)
            state = .downloadSync
            return []
        }
        let lying = take { if case .lyingStatusAtChunk(let n) = $0 { n == chunkCount } else { false } }
        pending = .program(address, data, lying: lying)
        state = .downloadSync
        return []
    }

    func dfuSeCommand(_ data: [UInt8]) throws(USBTransferError) -> [UInt8] {
        let address: UInt32? = data.count == 5
            ? UInt32(data[1]) | UInt32(data[2]) << 8 | UInt32(data[3]) << 16 | UInt32(data[4]) << 24 : nil
        state = .downloadSync
        switch (data[0], address) {
        case (0x21, let address?):
            pending = memory.contains(address, count: 0) ? .setAddress(address) : .failure(.errAddress)
        case (0x41, _) where configuration.protected:
            pending = .failure(.errVendor)  // read/write protection is active
        case (0x41, let address?):
            if let page = memory.layout.page(containing: UInt64(address)), page.attributes.contains(.erasable) {
                pending = .erase(page.start)
            } else if let page = memory.layout.page(containing: UInt64(address)), page.attributes.contains(.writable) {
                pending = .setAddress(pointer)  // Gen 3 DCT: erase is ignored, writes go through
            } else {
                pending = .failure(.errTarget)
            }
        case (0x41, nil):
            pending = .failure(.errTarget)  // mass erase is not supported
        case (0x92, nil):
            pending = .failure(gen3 ? .errUnknown : .errTarget)
        case (0xFA, nil) where configuration.commands.contains(0xFA):
            pending = .safeMode
        case (0xFB, nil) where configuration.commands.contains(0xFB):
            pending = .setAddress(pointer)
        default:
            pending = .failure(.errStalledPacket)
        }
        return []
    }

    func upload(block: UInt16, length: Int) throws(USBTransferError) -> [UInt8] {
        guard state == .idle || state == .uploadIdle else { throw stallToError() }
        if block == 0 {
            state = .uploadIdle
            return Array(configuration.commands.prefix(length))
        }
        guard block >= 2, !configuration.protected else { throw stallToError() }
        let address = UInt32(block - 2) &* 4096 &+ pointer
        guard memory.contains(address, count: length),
            let pages = memory.layout.pages(overlapping: UInt64(address), count: length),
            pages.allSatisfy({ $0.attributes.contains(.readable) })
        else { throw stallToError() }
        state = .uploadIdle
        return memory.read(address, count: length)
    }

    func getStatus() async throws(USBTransferError) -> [UInt8] {
        let slow = faults.compactMap { if case .slowStatus(let d) = $0 { d } else { nil } }.first
        guard let work = pending else {
            if state == .downloadBusy { state = .downloadIdle }
            if state == .manifest {
                // The reset after manifestation: the device leaves the bus.
                presence = .leftDFU
            }
            return DFUStatus(status: status, pollTimeout: .zero, state: state).encoded
        }
        pending = nil
        let timing = configuration.timing
        switch work {
        case .failure(let code):
            status = code
            state = .error
            return DFUStatus(status: code, pollTimeout: .zero, state: .error).encoded
        case .setAddress(let address):
            pointer = address
            state = .downloadBusy
        case .erase(let page):
            eraseCount += 1
            let size = memory.layout.page(containing: UInt64(page))!.size
            if take({ if case .powerLossAtErase(let n) = $0 { n == eraseCount } else { false } }) {
                memories[alt].erase(page, count: Int(size) / 2)
                memories[alt].store(page + size / 2, [UInt8](repeating: 0x5A, count: Int(size) - Int(size) / 2))
                presence = .detached
                throw .noDevice
            }
            memories[alt].erase(page, count: Int(size))
            counters.pagesErased += 1
            counters.bytesErased += Int(size)
            counters.erasedPages.append(page)
            schedule(slow ?? timing.eraseTime(pageSize: size))
            state = .downloadBusy
        case .program(let address, let bytes, let lying):
            var hang: Duration?
            _ = take({ if case .hangAtChunk(let n, _) = $0 { n == chunkCount } else { false } }, matched: { fault in
                if case .hangAtChunk(_, let d) = fault { hang = d }
            })
            if let hang { try? await clock.sleep(for: hang, tolerance: nil) }
            if !lying { memories[alt].program(address, bytes) }
            counters.bytesProgrammed += bytes.count
            schedule(slow ?? timing.programTime(bytes: bytes.count))
            state = .downloadBusy
            if take({ if case .unplugAfterChunk(let n) = $0 { n == chunkCount } else { false } }) {
                presence = .detached
            }
        case .manifest:
            if take({ $0 == .vanishOnLeave }) {
                presence = .leftDFU
                throw .noDevice
            }
            // Gen 3 reports dfuMANIFEST; Gen 2 reports dfuDNLOAD-IDLE ("nice output from
            // dfu-util"); both then reset.
            state = gen3 ? .manifest : .downloadIdle
            // Both then reset (after USBD_DFU_POLL_TIMEOUT / DFU_Reset_Count) and leave the bus.
            presence = .leftDFU
            return DFUStatus(status: .ok, pollTimeout: .zero, state: state).encoded
        case .safeMode:
            presence = .safeMode
            return DFUStatus(status: .ok, pollTimeout: .zero, state: .manifestSync).encoded
        }
        return DFUStatus(status: .ok, pollTimeout: slow ?? .zero, state: .downloadBusy).encoded
    }

    /// Removes the first fault matching `predicate`; true if there was one.
    func take(_ predicate: (Fault) -> Bool, matched: (Fault) -> Void = { _ in }) -> Bool {
        guard let index = faults.firstIndex(where: predicate) else { return false }
        matched(faults.remove(at: index))
        return true
    }
}
