import DFU
import ParticleDevices

extension Platform {
    /// Alt 0's memory layout as the catalog gives it (what planning checks against before a
    /// device is read); nil when the catalog names none.
    public var catalogLayout: DfuSeLayout? {
        guard let text = dfuAltSettings?.first(where: { $0.alt == 0 })?.layout else { return nil }
        return try? DfuSeLayout(text)
    }
}
