import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import LabKit

@Suite struct QEMUCommandTests {
    func arguments(_ access: LabAccess, _ kinds: [NICKind]) throws -> [String] {
        let nics = try LabNIC.plan(kinds: kinds, macs: [], peerAddresses: [])
        return QEMUCommand.arguments(QEMUConfiguration(kernel: "/k/vmlinuz", initrd: "/tmp/i.cpio", access: access, nics: nics))
    }

    func value(after flag: String, in arguments: [String]) -> [String] {
        arguments.indices.filter { arguments[$0] == flag && $0 + 1 < arguments.count }.map { arguments[$0 + 1] }
    }

    @Test func vfioAddsTheEmulatedIOMMUAndItsKernelArguments() throws {
        let arguments = try arguments(.vfio, [.e1000])
        #expect(value(after: "-device", in: arguments).first == "intel-iommu,aw-bits=48")
        let append = try #require(value(after: "-append", in: arguments).first)
        #expect(append.contains("intel_iommu=on iommu=pt"))
        #expect(append.contains("console=ttyS0"))
    }

    @Test func uioHasNoIOMMU() throws {
        let arguments = try arguments(.uio, [.e1000, .virtio])
        #expect(!arguments.contains { $0.contains("intel-iommu") })
        #expect(!(value(after: "-append", in: arguments).first ?? "").contains("intel_iommu"))
        #expect(!arguments.contains { $0.contains("iommu_platform") })
    }

    @Test func alwaysTCGWithQ35AndCPUMax() throws {
        for access in LabAccess.allCases {
            let arguments = try arguments(access, NICKind.allCases)
            #expect(arguments.first == "qemu-system-x86_64")
            #expect(value(after: "-accel", in: arguments) == ["tcg"])
            #expect(value(after: "-machine", in: arguments) == ["q35"])
            #expect(value(after: "-cpu", in: arguments) == ["max"])
            #expect(arguments.contains("-no-reboot"))
            #expect(!arguments.contains { $0.contains("kvm") })
        }
    }

    @Test func oneTapAndDevicePerNICAtFixedSlots() throws {
        let arguments = try arguments(.vfio, [.e1000, .virtio, .virtioLegacy])
        #expect(value(after: "-netdev", in: arguments) == [
            "tap,id=net0,ifname=tap0,script=no,downscript=no",
            "tap,id=net1,ifname=tap1,script=no,downscript=no",
            "tap,id=net2,ifname=tap2,script=no,downscript=no",
        ])
        let devices = value(after: "-device", in: arguments).dropFirst()
        #expect(Array(devices) == [
            "e1000,netdev=net0,mac=52:54:00:12:34:56,bus=pcie.0,addr=0x10,romfile=",
            "virtio-net-pci,netdev=net1,mac=52:54:00:12:34:57,bus=pcie.0,addr=0x11,romfile=,disable-legacy=on,disable-modern=off,iommu_platform=on",
            "virtio-net-pci,netdev=net2,mac=52:54:00:12:34:58,bus=pcie.0,addr=0x12,romfile=,disable-legacy=off,disable-modern=on",
        ])
    }

    @Test func kernelAndInitrdAndMemory() throws {
        var configuration = QEMUConfiguration(kernel: "/k", initrd: "/i", access: .none, nics: [])
        configuration.memoryMiB = 1024
        configuration.cpus = 1
        configuration.extraKernelArguments = ["foo=bar"]
        let arguments = QEMUCommand.arguments(configuration)
        #expect(value(after: "-kernel", in: arguments) == ["/k"])
        #expect(value(after: "-initrd", in: arguments) == ["/i"])
        #expect(value(after: "-m", in: arguments) == ["1024"])
        #expect(value(after: "-smp", in: arguments) == ["1"])
        #expect(value(after: "-append", in: arguments).first?.hasSuffix(" foo=bar") == true)
        #expect(!arguments.contains("-qmp"), "no monitor unless asked")
    }

    @Test func qmpSocketForFaults() throws {
        var configuration = QEMUConfiguration(kernel: "/k", initrd: "/i", access: .none, nics: [])
        configuration.qmpSocket = "/tmp/lab/qmp.sock"
        let arguments = QEMUCommand.arguments(configuration)
        #expect(value(after: "-qmp", in: arguments) == ["unix:/tmp/lab/qmp.sock,server=on,wait=off"])
    }
}

@Suite struct LabNICTests {
    @Test func defaultMACsCountUpFromQEMUs() throws {
        let nics = try LabNIC.plan(kinds: [.e1000, .e1000], macs: [], peerAddresses: ["10.0.0.1/24"])
        #expect(nics.map(\.mac) == ["52:54:00:12:34:56", "52:54:00:12:34:57"])
        #expect(nics.map(\.guestAddress) == ["0000:00:10.0", "0000:00:11.0"])
        #expect(nics.map(\.tap) == ["tap0", "tap1"])
        #expect(nics.map(\.peerAddress) == ["10.0.0.1/24", nil])
    }

    @Test func queuePairsMakeVirtioMultiqueueAndLeaveE1000Alone() throws {
        let nics = try LabNIC.plan(kinds: [.virtio, .e1000], macs: [], peerAddresses: [], queuePairs: 2)
        #expect(nics.map(\.queuePairs) == [2, 1])
        let arguments = QEMUCommand.arguments(QEMUConfiguration(kernel: "/k", initrd: "/i", access: .vfio, nics: nics))
        func value(after flag: String, in arguments: [String]) -> [String] {
            arguments.indices.filter { arguments[$0] == flag && $0 + 1 < arguments.count }.map { arguments[$0 + 1] }
        }
        let netdevs = value(after: "-netdev", in: arguments)
        #expect(netdevs[0].hasSuffix(",queues=2"))
        #expect(!netdevs[1].contains("queues"))
        let devices = value(after: "-device", in: arguments)
        #expect(devices[1].hasPrefix("virtio-net-pci,") && devices[1].hasSuffix(",iommu_platform=on,mq=on,vectors=6"))
        #expect(devices[2].hasPrefix("e1000,") && !devices[2].contains("mq"))
        #expect(throws: LabError.self) { try LabNIC.plan(kinds: [.virtio], macs: [], peerAddresses: [], queuePairs: 0) }
    }

    @Test func hotplugPutsEachNICBehindARootPortWithAnID() throws {
        var nics = try LabNIC.plan(kinds: [.e1000, .virtio], macs: [], peerAddresses: [])
        for index in nics.indices { nics[index].hotplug = true }
        #expect(nics.map(\.guestAddress) == ["0000:01:00.0", "0000:02:00.0"])
        let arguments = QEMUCommand.arguments(QEMUConfiguration(kernel: "/k", initrd: "/i", access: .uio, nics: nics))
        let devices = arguments.indices.filter { arguments[$0] == "-device" }.map { arguments[$0 + 1] }
        #expect(devices[0] == "pcie-root-port,id=rp0,bus=pcie.0,addr=0x10,chassis=1,slot=1")
        #expect(devices[1].hasPrefix("e1000,netdev=net0,") && devices[1].contains(",bus=rp0,addr=0x0,") && devices[1].hasSuffix(",id=nic0"))
        #expect(devices[2] == "pcie-root-port,id=rp1,bus=pcie.0,addr=0x11,chassis=2,slot=2")
        #expect(devices[3].contains(",bus=rp1,addr=0x0,") && devices[3].hasSuffix(",id=nic1"))
    }

    @Test func givenMACsAreUsedLowercased() throws {
        let nics = try LabNIC.plan(kinds: [.virtio], macs: ["02:AA:bb:00:00:01"], peerAddresses: [])
        #expect(nics[0].mac == "02:aa:bb:00:00:01")
    }

    @Test func badPlansAreRefused() {
        #expect(throws: LabError.self) { try LabNIC.plan(kinds: [.e1000], macs: ["52:54:00:12:34"], peerAddresses: []) }
        #expect(throws: LabError.self) { try LabNIC.plan(kinds: [.e1000], macs: ["a", "b"], peerAddresses: []) }
        #expect(throws: LabError.self) { try LabNIC.plan(kinds: [.e1000], macs: [], peerAddresses: ["1", "2"]) }
        #expect(throws: LabError.self) { try LabNIC.plan(kinds: Array(repeating: .e1000, count: 17), macs: [], peerAddresses: []) }
    }

    @Test func kindsFromPCIIDs() {
        #expect(NICKind(vendor: 0x8086, device: 0x100e) == .e1000)
        #expect(NICKind(vendor: 0x1af4, device: 0x1041) == .virtio)
        #expect(NICKind(vendor: 0x1af4, device: 0x1000) == .virtioLegacy)
        #expect(NICKind(vendor: 0x1af4, device: 0x1042) == nil)
    }
}

@Suite struct LabNamespaceTests {
    @Test func uniqueNamesCarryTheOwner() {
        let name = LabNamespace.uniqueName()
        #expect(name.hasPrefix("dplab-"))
        #expect(LabNamespace.ownerPID(name) == getpid())
        #expect(LabNamespace.uniqueName() != name)
    }

    @Test func foreignNamesHaveNoOwner() {
        for name in ["dplab", "dplab-x-1", "other-12-ab", "dplab-12-zz", "dplab-0-ab", "dplab-12-ab-c"] {
            #expect(LabNamespace.ownerPID(name) == nil, "\(name)")
        }
        #expect(LabNamespace.ownerPID("dplab-4242-1f") == 4242)
    }
}
