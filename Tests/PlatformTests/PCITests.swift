import Testing
@testable import Platform

@Suite("PCI discovery (read-only)")
struct PCITests {
    @Test("addresses parse and print in the kernel's form")
    func addressRoundTrip() {
        let address = PCIAddress("0000:00:1f.3")
        #expect(address == PCIAddress(domain: 0, bus: 0, device: 0x1f, function: 3))
        #expect(address?.description == "0000:00:1f.3")
        #expect(PCIAddress("00:02.0")?.description == "0000:00:02.0")
        for bad in ["", "0000:00:02", "0000:00:20.0", "0000:00:02.8", "zz:00.0", "0000:00:02.0.1"] {
            #expect(PCIAddress(bad) == nil, "\(bad) should not parse")
        }
        #expect(PCIAddress("0000:00:02.0")! < PCIAddress("0000:00:03.0")!)
    }

    @Test("the host's devices are listed with identity, name, driver and BARs")
    func hostListing() throws {
        let devices = try PCIBus.devices()
        #expect(!devices.isEmpty)
        #expect(devices == devices.sorted { $0.address < $1.address })
        // Every machine of this kind has a virtio or other network controller.
        let network = devices.filter(\.isNetworkController)
        #expect(!network.isEmpty)
        for device in network {
            #expect(device.vendorID != 0 && device.vendorID != 0xffff)
            #expect(!device.name.isEmpty)
            #expect(!device.bars.isEmpty)
        }
        // A network device with a kernel interface shows its driver.
        if let withInterface = network.first(where: { !$0.interfaces.isEmpty }) {
            #expect(withInterface.driver != nil)
        }
    }

    @Test("configuration space reads match the listed identity")
    func configSpaceRead() throws {
        let device = try #require(try PCIBus.devices().first(where: \.isNetworkController))
        let config = PCIConfigSpace(address: device.address)
        #expect(try config.read16(0) == device.vendorID)
        #expect(try config.read16(2) == device.deviceID)
        #expect(try config.read8(0x0b) == UInt8(device.classCode >> 8))
    }

    @Test("a missing device reads as an error, not a crash")
    func missingDevice() throws {
        let config = PCIConfigSpace(address: PCIAddress(domain: 0xfff, bus: 0xff, device: 31, function: 7))
        #expect(throws: PlatformError.self) { try config.read32(0) }
        #expect(try PCIBus.device(at: PCIAddress(domain: 0xfff, bus: 0xff, device: 31, function: 7)) == nil)
    }
}
