import Testing
@testable import LabKit

/// The boot limit after which a stalled guest boot is stopped and retried
/// (LabRunOptions.bootLimit), and what a stalled run exits with.
@Suite struct BootLimitTests {
    func options(timeout: Double) -> LabRunOptions {
        var options = LabRunOptions(nics: [], access: .none, command: ["true"])
        options.timeout = timeout
        return options
    }

    @Test func defaultLimitIsAThirdOfTheTimeoutWithin60To240Seconds() {
        #expect(options(timeout: 120).effectiveBootLimit == 60)
        #expect(options(timeout: 300).effectiveBootLimit == 100)
        #expect(options(timeout: 900).effectiveBootLimit == 240)
    }

    @Test func anExplicitLimitWins() {
        var options = options(timeout: 900)
        options.bootLimit = 45
        #expect(options.effectiveBootLimit == 45)
    }

    @Test func aStalledBootExitsAsATimeout() {
        var result = LabRunResult(totalSeconds: 250)
        #expect(result.exitCode == 125)
        result.bootStalled = true
        #expect(result.exitCode == 124)
        result.status = 0
        #expect(result.exitCode == 0)
    }

    @Test func theKernelSkipsItsCryptoSelfTests() throws {
        let nics = try LabNIC.plan(kinds: [.e1000], macs: [], peerAddresses: [])
        let arguments = QEMUCommand.arguments(QEMUConfiguration(kernel: "/k/vmlinuz", initrd: "/i", access: .none, nics: nics))
        let append = try #require(arguments.firstIndex(of: "-append").map { arguments[$0 + 1] })
        #expect(append.contains("cryptomgr.notests"))
        #expect(append.contains("no_timer_check"))
    }
}
