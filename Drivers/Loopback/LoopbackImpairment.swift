/// What a loopback port does to one transmitted frame.
public enum LoopbackAction: Sendable, Equatable {
    /// Delivered as sent.
    case pass
    /// Lost (freed and counted in the extended counter "impaired_dropped").
    case drop
    /// Delivered twice (the copy comes from the receiving side's pool).
    case duplicate
    /// Held back and delivered after the next frame (swaps the two).
    case reorder
}

/// A deterministic impairment: `pattern` is applied to transmitted frames
/// in turn, cycling. `[.pass, .pass, .drop]` loses every third frame.
/// Deterministic so that tests of loss recovery repeat exactly.
public struct LoopbackImpairment: Sendable, Equatable {
    public var pattern: [LoopbackAction]

    public init(pattern: [LoopbackAction]) {
        self.pattern = pattern.isEmpty ? [.pass] : pattern
    }

    public static let none = LoopbackImpairment(pattern: [.pass])
}
