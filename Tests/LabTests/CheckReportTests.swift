import Testing
@testable import LabKit

@Suite struct CheckReportTests {
    let nics = try! LabNIC.plan(kinds: NICKind.allCases, macs: [], peerAddresses: [])

    func lines(_ address: String, _ kind: String, _ checks: [String], failing: String? = nil) -> [String] {
        checks.map { "DP-PROBE \(address) \(kind) \($0) \($0 == failing ? "fail" : "pass") detail of \($0)" }
    }

    @Test func rowsPassWhenEveryRequiredCheckPasses() {
        let output = lines("0000:00:10.0", "e1000", ["found", "bound", "open", "bar", "link", "mac", "busmaster", "dma", "tx", "reopen"])
            + lines("0000:00:11.0", "virtio", ["found", "bound", "open", "bar", "features", "reset", "busmaster", "dma", "tx", "reopen"])
            + ["some other guest line"]
        let rows = CheckReport.rows(from: output, nics: nics, access: .vfio)
        #expect(rows.map(\.kind) == [.e1000, .virtio, .virtioLegacy])
        #expect(rows[0].passed)
        #expect(rows[1].passed)
        #expect(rows[0].summary.contains("mac detail of mac"))
        // No lines for the legacy device: every check missing.
        #expect(!rows[2].passed)
        #expect(rows[2].missingChecks.count == rows[2].requiredChecks.count)
    }

    @Test func aFailedOrMissingCheckFailsTheRow() {
        let failed = CheckReport.rows(
            from: lines("0000:00:10.0", "e1000", ["found", "bound", "open", "bar", "link", "mac", "busmaster", "dma", "tx", "reopen"], failing: "link"),
            nics: nics, access: .uio)
        #expect(!failed[0].passed)
        #expect(failed[0].summary.contains("link: detail of link"))
        let missing = CheckReport.rows(from: lines("0000:00:10.0", "e1000", ["found", "bound"]), nics: nics, access: .uio)
        #expect(!missing[0].passed)
        #expect(missing[0].summary.contains("missing: open,bar,link,mac,busmaster,dma,tx,reopen"))
    }

    @Test func probeCommandNamesAccessMACsAndAddresses() {
        #expect(CheckReport.probeCommand(nics: nics, access: .vfio) == [
            "dp-probe", "--access", "vfio", "--mac", "0000:00:10.0=52:54:00:12:34:56",
            "0000:00:10.0", "0000:00:11.0", "0000:00:12.0",
        ])
    }

    @Test func tableHasAHeaderAndARowEach() {
        let rows = CheckReport.rows(from: [], nics: nics, access: .uio)
        let table = CheckReport.table(rows).split(separator: "\n")
        #expect(table.count == 4)
        #expect(table[0].hasPrefix("NIC"))
        #expect(table.dropFirst().allSatisfy { $0.contains("FAIL") })
    }
}
