/// An access token. Its text is reachable only through `bearerValue`, for the
/// Authorization header; printing, logging or interpolating it shows `<token>`.
public struct Token: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let text: String
    public init(_ text: String) { self.text = text }
    /// No children: `dump` and reflection show nothing of the text either.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
    /// For the `Authorization: Bearer ...` header only.
    public var bearerValue: String { text }
    public var description: String { "<token>" }
    public var debugDescription: String { "<token>" }
}
