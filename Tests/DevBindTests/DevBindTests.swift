import Testing
import Platform
@testable import DevBindKit

/// A machine with a host bridge, the host NIC carrying the default route,
/// and lab e1000s in every state dp-devbind distinguishes.
func labMachine() -> SysfsFixture {
    let fixture = SysfsFixture()
    fixture.pciDevice("0000:00:00.0", vendor: 0x8086, device: 0x29c0, classCode: 0x060000)
    fixture.pciDevice("0000:00:03.0", vendor: 0x1af4, device: 0x1000, classCode: 0x020000, driver: "virtio-pci", interfaces: ["eth0"])
    fixture.pciDevice("0000:00:10.0", vendor: 0x8086, device: 0x100e, classCode: 0x020000)
    fixture.pciDevice("0000:00:11.0", vendor: 0x8086, device: 0x100e, classCode: 0x020000, driver: "e1000", interfaces: ["eth1"])
    fixture.pciDevice("0000:00:12.0", vendor: 0x8086, device: 0x100e, classCode: 0x020000, driver: "e1000", interfaces: ["eth2"])
    fixture.pciDevice("0000:00:13.0", vendor: 0x8086, device: 0x100e, classCode: 0x020000, driver: "e1000", interfaces: ["eth3"])
    fixture.file("sys/bus/pci/drivers_probe", "")
    fixture.makeDirectories("sys/bus/pci/drivers/vfio-pci")
    fixture.file("sys/class/net/eth0/flags", "0x1003\n")
    fixture.file("sys/class/net/eth1/flags", "0x1003\n")  // up
    fixture.file("sys/class/net/eth2/flags", "0x1002\n")  // down, but has an address
    fixture.file("sys/class/net/eth3/flags", "0x1002\n")  // down, idle
    fixture.file("proc/net/route", """
        Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
        eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
        eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0

        """)
    fixture.file("proc/net/ipv6_route", """
        fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
        00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo

        """)
    return fixture
}

func view(_ fixture: SysfsFixture) -> SystemView {
    .fixture(root: fixture.root, addresses: ["eth0": ["192.168.2.15"], "eth2": ["10.9.9.9"]])
}

@Suite struct NetworkDeviceStatusTests {
    @Test func listsNetworkDevicesWithDriverInterfaceAndActivity() throws {
        let fixture = labMachine()
        let devices = try NetworkDeviceStatus.all(in: view(fixture))
        #expect(devices.map(\.address.description) == ["0000:00:03.0", "0000:00:10.0", "0000:00:11.0", "0000:00:12.0", "0000:00:13.0"])
        #expect(devices.map(\.driver) == ["virtio-pci", nil, "e1000", "e1000", "e1000"])
        #expect(devices.map(\.interfaces) == [["eth0"], [], ["eth1"], ["eth2"], ["eth3"]])
        #expect(devices.map(\.isActive) == [true, false, true, true, false])
        #expect(devices.map(\.carriesDefaultRoute) == [true, false, false, false, false])
        #expect(devices[1].vendorID == 0x8086 && devices[1].deviceID == 0x100e)
    }

    @Test func statusLineShowsTheFacts() throws {
        let fixture = labMachine()
        let devices = try NetworkDeviceStatus.all(in: view(fixture))
        #expect(devices[0].line.hasPrefix("0000:00:03.0 1af4:1000 '"))
        #expect(devices[0].line.hasSuffix("driver=virtio-pci if=eth0 *active* *default-route*"))
        #expect(devices[1].line.hasSuffix("driver=none"))
    }

    @Test func routesMakeAnInterfaceActive() throws {
        let fixture = labMachine()
        fixture.file("proc/net/route", "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
            + "eth3\t000A0A0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\n")
        let devices = try NetworkDeviceStatus.all(in: view(fixture))
        #expect(devices.first { $0.address.description == "0000:00:13.0" }?.isActive == true)
        // With no IPv4 default left, eth0 carries none either (the IPv6 one is on lo).
        #expect(devices[0].carriesDefaultRoute == false)
    }
}

@Suite struct DriverBinderTests {
    func binder(_ fixture: SysfsFixture, force: Bool = false, loads: @escaping @Sendable (String) -> Bool = { _ in false }) -> DriverBinder {
        DriverBinder(view: view(fixture), force: force, loadModule: loads)
    }

    @Test func neverTheDefaultRouteDeviceEvenForced() {
        let fixture = labMachine()
        let error = #expect(throws: BindRefusal.self) {
            try binder(fixture, force: true).bind(PCIAddress("0000:00:03.0")!, to: "vfio-pci")
        }
        #expect(error?.description.contains("default route") == true)
        #expect(throws: BindRefusal.self) { try binder(fixture, force: true).unbind(PCIAddress("0000:00:03.0")!) }
        #expect(fixture.read("sys/bus/pci/drivers/virtio-pci/unbind").isEmpty)
        #expect(fixture.read("sys/bus/pci/drivers_probe").isEmpty)
    }

    @Test func activeDevicesNeedForce() {
        let fixture = labMachine()
        for address in ["0000:00:11.0", "0000:00:12.0"] {
            let error = #expect(throws: BindRefusal.self) { try binder(fixture).bind(PCIAddress(address)!, to: "vfio-pci") }
            #expect(error?.description.contains("--force") == true)
        }
        #expect(fixture.read("sys/bus/pci/drivers/e1000/unbind").isEmpty)
    }

    @Test func nonNetworkAndAbsentDevicesAreRefused() {
        let fixture = labMachine()
        #expect(throws: BindRefusal.self) { try binder(fixture).bind(PCIAddress("0000:00:00.0")!, to: "vfio-pci") }
        #expect(throws: BindRefusal.self) { try binder(fixture).bind(PCIAddress("0000:00:1f.0")!, to: "vfio-pci") }
    }

    @Test func bindWritesUnbindOverrideAndProbe() {
        let fixture = labMachine()
        // The fixture has no kernel to follow the writes, so the final check
        // reports the device still unbound; the writes are what matter here.
        let error = #expect(throws: BindRefusal.self) { try binder(fixture).bind(PCIAddress("0000:00:13.0")!, to: "vfio-pci") }
        #expect(error?.description.contains("is bound to e1000 after binding to vfio-pci") == true)
        #expect(fixture.read("sys/bus/pci/drivers/e1000/unbind") == "0000:00:13.0")
        #expect(fixture.read("sys/bus/pci/devices/0000:00:13.0/driver_override").hasPrefix("vfio-pci"))
        #expect(fixture.read("sys/bus/pci/drivers_probe") == "0000:00:13.0")
    }

    @Test func missingDriverIsLoadedFirst() {
        let fixture = labMachine()
        let error = #expect(throws: BindRefusal.self) {
            try binder(fixture).bind(PCIAddress("0000:00:10.0")!, to: "uio_pci_generic")
        }
        #expect(error?.description.contains("modprobe uio_pci_generic") == true)
        #expect(fixture.read("sys/bus/pci/drivers_probe").isEmpty)
    }

    @Test func unbindWritesTheDriversUnbindFile() throws {
        let fixture = labMachine()
        #expect(try binder(fixture).unbind(PCIAddress("0000:00:13.0")!) == "0000:00:13.0 unbound from e1000")
        #expect(fixture.read("sys/bus/pci/drivers/e1000/unbind") == "0000:00:13.0")
        #expect(try binder(fixture).unbind(PCIAddress("0000:00:10.0")!) == "0000:00:10.0 is bound to no driver")
    }

    @Test func onlyInsideTheLabGuest() throws {
        let fixture = labMachine()
        #expect(throws: BindRefusal.self) {
            try DriverBinder.refuseOutsideLab(allowOutsideLab: false, marker: fixture.root + "/lab/run.conf")
        }
        try DriverBinder.refuseOutsideLab(allowOutsideLab: true, marker: fixture.root + "/lab/run.conf")
        fixture.file("lab/run.conf", "LAB_DRIVER=vfio-pci\n")
        try DriverBinder.refuseOutsideLab(allowOutsideLab: false, marker: fixture.root + "/lab/run.conf")
    }
}
