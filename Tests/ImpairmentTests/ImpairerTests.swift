import Impairment
import Testing

@Suite struct ImpairerTests {
    @Test func noImpairmentPassesEveryFrameOnceAtOnce() {
        var impairer = Impairer(settings: .none, seed: 3)
        for _ in 0..<10_000 {
            #expect(impairer.decide() == ImpairmentVerdict(copies: 1, hold: 0, reordered: false))
        }
    }

    @Test func lossOneDropsEverything() {
        var impairer = Impairer(settings: ImpairmentSettings(loss: 1, duplicate: 1), seed: 3)
        for _ in 0..<1000 { #expect(impairer.decide().dropped) }
    }

    @Test func duplicateOneSendsTwoCopies() {
        var impairer = Impairer(settings: ImpairmentSettings(duplicate: 1), seed: 3)
        for _ in 0..<1000 {
            let verdict = impairer.decide()
            #expect(verdict.copies == 2)
            #expect(verdict.hold == 0)
        }
    }

    @Test func reorderedFramesAreHeldForDelayPlusReorderDelay() {
        var impairer = Impairer(
            settings: ImpairmentSettings(reorder: 1, reorderDelay: 3_000_000, delay: 500_000), seed: 3)
        let verdict = impairer.decide()
        #expect(verdict.reordered)
        #expect(verdict.hold == 3_500_000)
    }

    @Test func baseDelayAppliesToEveryFrame() {
        var impairer = Impairer(settings: ImpairmentSettings(delay: 2_000_000), seed: 3)
        for _ in 0..<100 { #expect(impairer.decide() == ImpairmentVerdict(copies: 1, hold: 2_000_000, reordered: false)) }
    }

    @Test func ratesMatchTheIssueSettings() {
        let settings = ImpairmentSettings(loss: 0.04, duplicate: 0.01, reorder: 0.22, reorderDelay: 3_000_000)
        var impairer = Impairer(settings: settings, seed: 11)
        let frames = 200_000
        var dropped = 0, duplicated = 0, reordered = 0
        for _ in 0..<frames {
            let verdict = impairer.decide()
            if verdict.dropped { dropped += 1 }
            if verdict.duplicated { duplicated += 1 }
            if verdict.reordered { reordered += 1 }
        }
        let survivors = Double(frames - dropped)
        #expect(abs(Double(dropped) / Double(frames) - 0.04) < 0.003)
        // Duplication and reordering apply to the frames that survive loss.
        #expect(abs(Double(duplicated) / survivors - 0.01) < 0.002)
        #expect(abs(Double(reordered) / survivors - 0.22) < 0.006)
    }

    @Test func sameSeedReplaysTheSameVerdicts() {
        let settings = ImpairmentSettings(loss: 0.3, duplicate: 0.3, reorder: 0.3, reorderDelay: 1)
        var first = Impairer(settings: settings, seed: 5)
        var second = Impairer(settings: settings, seed: 5)
        for _ in 0..<1000 { #expect(first.decide() == second.decide()) }
    }
}
