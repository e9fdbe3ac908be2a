import NetDevice
import Packets
import Platform
import Ports
import Testing

@Suite struct PortSpecTests {
    @Test func parsesEveryKind() {
        #expect(PortSpec("pci:0000:00:10.0") == .pci("0000:00:10.0"))
        #expect(PortSpec("0000:00:11.0") == .pci("0000:00:11.0"))
        #expect(PortSpec("tap:dp0") == .tap("dp0", mac: nil))
        #expect(PortSpec("null:3") == .null(3))
    }

    @Test func refusesWhatNamesNoPort() {
        for text in ["", "pci:", "pci:00:10", "tap:", "tap:a-name-longer-than-15", "null:", "null:-1", "null:x", "eth0", "virtio"] {
            #expect(PortSpec(text) == nil, "\(text)")
        }
    }

    @Test func describesItselfAsItParses() {
        for text in ["pci:0000:00:10.0", "tap:dp0", "null:0"] {
            #expect(PortSpec(text)?.description == text)
        }
    }
}

@Suite struct PortOpenerTests {
    @Test func hostPortsTakeAnonymousMemoryAtVirtualAddresses() throws {
        let null = try PortOpener.open(.null(0))
        let (first, second) = try PortOpener.openLoopbackPair()
        let ports = [null, first, second]
        #expect(ports.allSatisfy { !$0.isPCI })
        #expect(ports.poolPolicy == .hugepagesOrAnonymousFallback)
        #expect(ports.poolIOVAMode == .virtual)
        let pool = try ports.makePool(name: "ports-test", capacity: 256)
        #expect(pool.statistics.capacity == 256)
    }

    @Test func aPCIAddressWithNoDeviceIsNotFound() {
        // Domain ffff does not exist on any machine: nothing is opened or touched.
        do {
            _ = try PortOpener.openPCI("ffff:ff:1f.7")
            Issue.record("opened a device that does not exist")
        } catch {
            #expect(error.kind == .notFound)
        }
    }

    @Test func textThatIsNoAddressIsRefused() {
        do {
            _ = try PortOpener.openPCI("not-an-address")
            Issue.record("accepted a bad address")
        } catch {
            #expect(error.kind == .invalidConfiguration)
        }
    }
}
