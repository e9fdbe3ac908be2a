/// A lab failure, with the cause and, where there is one, the fix.
public struct LabError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
