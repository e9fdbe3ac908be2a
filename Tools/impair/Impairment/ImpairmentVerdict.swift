/// The fate of one frame: how many copies leave, and when.
public struct ImpairmentVerdict: Equatable, Sendable {
    /// 0 (dropped), 1, or 2 (duplicated).
    public var copies: Int
    /// Nanoseconds the frame waits before it leaves (0: at once).
    public var hold: UInt64
    /// Held back so that later frames overtake it.
    public var reordered: Bool

    public init(copies: Int, hold: UInt64, reordered: Bool) {
        self.copies = copies
        self.hold = hold
        self.reordered = reordered
    }

    public var dropped: Bool { copies == 0 }
    public var duplicated: Bool { copies > 1 }
}
