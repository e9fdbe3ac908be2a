import E1000
import NetDevice
import Testing

/// DeviceHealthMonitoring over the e1000 model: STATUS.LU, all-ones
/// registers and the system's removal request (E1000Device+Health.swift).
@Suite("e1000 link and removal checks")
struct E1000HealthTests {
    @Test func linkFollowsStatusLU() throws {
        let fixture = try E1000Fixture()
        #expect(fixture.device.checkHealth() == .running(LinkStatus(isUp: true, speedMbps: 1000, fullDuplex: true)))
        fixture.model.setLink(up: false)
        #expect(fixture.device.checkHealth() == .running(LinkStatus(isUp: false)))
        fixture.model.setLink(up: true)
        #expect(fixture.device.checkHealth() == .running(LinkStatus(isUp: true, speedMbps: 1000, fullDuplex: true)))
    }

    @Test(arguments: ["all-ones", "request"])
    func aRemovedDeviceIsReleased(_ how: String) throws {
        let fixture = try E1000Fixture()
        if how == "all-ones" { fixture.model.removed = true } else { fixture.model.removalRequest = true }
        guard case .removed = fixture.device.checkHealth() else {
            Issue.record("\(how) was not taken as a removal")
            return
        }
        #expect(fixture.model.closed)
        #expect(fixture.pool.statistics.available == fixture.pool.capacity)
        #expect(fixture.device.linkStatus().isUp == false)
        #expect(fixture.receiveAll().isEmpty)
        guard case .removed = fixture.device.checkHealth() else {
            Issue.record("a removed port came back")
            return
        }
    }
}
