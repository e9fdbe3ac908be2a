/// What one direction of the relay does to the frames it carries. Every
/// probability applies to each frame independently; times are nanoseconds.
public struct ImpairmentSettings: Equatable, Sendable {
    /// Probability that a frame is dropped.
    public var loss: Double
    /// Probability that a frame that was not dropped is sent twice.
    public var duplicate: Double
    /// Probability that a frame is held back by `reorderDelay` while later frames pass.
    public var reorder: Double
    /// How long a reordered frame is held, on top of `delay`.
    public var reorderDelay: UInt64
    /// The delay every frame gets.
    public var delay: UInt64

    public init(loss: Double = 0, duplicate: Double = 0, reorder: Double = 0,
                reorderDelay: UInt64 = 0, delay: UInt64 = 0) {
        self.loss = loss
        self.duplicate = duplicate
        self.reorder = reorder
        self.reorderDelay = reorderDelay
        self.delay = delay
    }

    /// A relay that copies every frame unchanged and at once.
    public static let none = ImpairmentSettings()

    /// Whether this changes anything at all.
    public var isClean: Bool { self == .none }

    /// Refuses settings that cannot mean what they say.
    public func validate() throws(ImpairmentSettingsError) {
        for (name, value) in [("loss", loss), ("duplicate", duplicate), ("reorder", reorder)] {
            guard value >= 0, value <= 1 else {
                throw ImpairmentSettingsError("--\(name) \(value): a probability must be in 0...1 (4% is 0.04)")
            }
        }
        if reorder > 0, reorderDelay == 0 {
            throw ImpairmentSettingsError(
                "--reorder \(reorder) without --reorder-delay-ms: a reordered frame is held for that long while later frames pass; give a delay above 0")
        }
    }
}

/// Settings that cannot be applied, with the reason and the fix.
public struct ImpairmentSettingsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
