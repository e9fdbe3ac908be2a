import Impairment
import Testing

@Suite struct ImpairmentRandomTests {
    @Test func sameSeedGivesSameSequence() {
        var first = ImpairmentRandom(seed: 42)
        var second = ImpairmentRandom(seed: 42)
        for _ in 0..<1000 { #expect(first.next() == second.next()) }
    }

    @Test func differentSeedsGiveDifferentSequences() {
        var first = ImpairmentRandom(seed: 1)
        var second = ImpairmentRandom(seed: 2)
        let a = (0..<8).map { _ in first.next() }
        let b = (0..<8).map { _ in second.next() }
        #expect(a != b)
    }

    @Test func seedZeroStillProducesVariedOutput() {
        var random = ImpairmentRandom(seed: 0)
        let values = Set((0..<100).map { _ in random.next() })
        #expect(values.count == 100)
    }

    @Test func chanceZeroNeverAndOneAlways() {
        var random = ImpairmentRandom(seed: 9)
        for _ in 0..<10_000 {
            let never = random.chance(0)
            let always = random.chance(1)
            #expect(!never)
            #expect(always)
        }
    }

    @Test(arguments: [0.01, 0.04, 0.22, 0.5])
    func chanceMatchesItsProbability(probability: Double) {
        var random = ImpairmentRandom(seed: 7)
        let draws = 200_000
        let hits = (0..<draws).reduce(0) { count, _ in count + (random.chance(probability) ? 1 : 0) }
        let rate = Double(hits) / Double(draws)
        // Five standard deviations of a binomial: a fixed seed, so this never flakes.
        let tolerance = 5 * (probability * (1 - probability) / Double(draws)).squareRoot()
        #expect(abs(rate - probability) < tolerance, "rate \(rate) for probability \(probability)")
    }
}
