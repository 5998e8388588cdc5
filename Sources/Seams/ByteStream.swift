/// A byte stream: a serial port, or an emulated device's CDC data path.
public protocol ByteStream: Sendable {
    /// Names the port in errors (`/dev/ttyACM0`).
    var name: String { get }
    func write(_ bytes: [UInt8]) async throws(ByteStreamError)
    /// What arrives within `timeout` (empty when nothing did).
    func read(timeout: Duration) async throws(ByteStreamError) -> [UInt8]
}

public enum ByteStreamError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The port went away (device unplugged or reset).
    case closed(String)
    /// A system call failed; `code` is errno.
    case io(String, call: String, code: Int32)

    public var description: String {
        switch self {
        case .closed(let port): "\(port) closed (the device left the bus)"
        case .io(let port, let call, let code): "\(call) on \(port) failed (errno \(code))"
        }
    }
}
