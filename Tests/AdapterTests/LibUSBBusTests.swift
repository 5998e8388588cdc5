import LibUSB
import Testing

/// What can be checked without a device: the bus starts its event thread, enumerates,
/// registers hotplug, and names a missing device in its error. The lab drives real devices.
@Suite struct LibUSBBusTests {
    @Test func busEnumeratesAndWatches() async throws {
        let bus = try LibUSBBus(logLevel: .none)
        let all = try await bus.devices()
        let particle = try await bus.devices(vendorID: 0x2B04)
        #expect(particle.count <= all.count)
        #expect(particle.allSatisfy { $0.vendorID == 0x2B04 && !$0.portPath.isEmpty })
        if LibUSBLibrary.supportsHotplug {
            _ = try bus.watch(vendorID: 0x2B04)
        }
    }

    @Test func openingAMissingPortPathNamesIt() async throws {
        let bus = try LibUSBBus(logLevel: .none)
        do {
            _ = try await bus.open(portPath: "9-9.9.9", retry: OpenRetry(attempts: 2, firstDelay: .milliseconds(1)))
            Issue.record("opened a device that does not exist")
        } catch {
            #expect(error.device == "9-9.9.9")
            #expect(error.code == "USB-NOT-FOUND")
            #expect(error.description.contains("9-9.9.9"))
        }
    }
}
