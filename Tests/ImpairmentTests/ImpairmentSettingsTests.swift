import Impairment
import Testing

@Suite struct ImpairmentSettingsTests {
    @Test func cleanSettingsAreValidAndClean() throws {
        try ImpairmentSettings.none.validate()
        #expect(ImpairmentSettings.none.isClean)
        #expect(!ImpairmentSettings(loss: 0.04).isClean)
    }

    @Test(arguments: [-0.1, 1.5, Double.nan, Double.infinity])
    func probabilityOutsideZeroToOneIsRefused(value: Double) {
        for settings in [ImpairmentSettings(loss: value), ImpairmentSettings(duplicate: value),
                         ImpairmentSettings(reorder: value, reorderDelay: 1_000_000)] {
            #expect(throws: ImpairmentSettingsError.self) { try settings.validate() }
        }
    }

    @Test func errorNamesTheOptionAndTheRange() {
        do {
            try ImpairmentSettings(loss: 4).validate()
            Issue.record("loss 4 was accepted")
        } catch {
            #expect(error.description.contains("--loss"))
            #expect(error.description.contains("0...1"))
        }
    }

    @Test func reorderWithoutDelayIsRefused() {
        #expect(throws: ImpairmentSettingsError.self) { try ImpairmentSettings(reorder: 0.2).validate() }
    }

    @Test func issueRangesAreValid() throws {
        try ImpairmentSettings(loss: 0.04, duplicate: 0.01, reorder: 0.22, reorderDelay: 3_000_000).validate()
    }
}
