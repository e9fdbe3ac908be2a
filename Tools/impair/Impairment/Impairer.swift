/// Decides, frame by frame, what one direction does: drop, duplicate, hold
/// back. Pure: no clock and no I/O, so tests drive it directly.
public struct Impairer: Sendable {
    public let settings: ImpairmentSettings
    private var random: ImpairmentRandom

    public init(settings: ImpairmentSettings, seed: UInt64) {
        self.settings = settings
        random = ImpairmentRandom(seed: seed)
    }

    /// The verdict for the next frame. Loss is decided first; a frame that
    /// survives may be duplicated (both copies leave together) and reordered.
    public mutating func decide() -> ImpairmentVerdict {
        if random.chance(settings.loss) {
            return ImpairmentVerdict(copies: 0, hold: 0, reordered: false)
        }
        let copies = random.chance(settings.duplicate) ? 2 : 1
        let reordered = random.chance(settings.reorder)
        let hold = settings.delay + (reordered ? settings.reorderDelay : 0)
        return ImpairmentVerdict(copies: copies, hold: hold, reordered: reordered)
    }
}
