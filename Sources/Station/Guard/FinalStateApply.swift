import ControlRequests
import ParticleDevices

extension FinalState {
    /// Puts a normal-mode device in this state over its control channel: listening mode
    /// (started only when it is not listening already), or DFU mode (request 50; it then
    /// leaves the bus and comes back in DFU mode). The one place a final state is applied:
    /// the guard's `leave`, the finish step and the end of a connectivity test all call it.
    public func apply(to requests: ControlRequests) async throws(ControlRequestError) {
        switch self {
        case .listening:
            if try await !requests.isListening() { try await requests.startListening() }
        case .dfu:
            try await requests.enterDFU()
        }
    }
}
