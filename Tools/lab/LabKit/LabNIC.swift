/// The kinds of emulated NIC the lab offers. Adding one: a case here with
/// its QEMU device and PCI IDs, then the probe's check for it (dp-probe).
public enum NICKind: String, Sendable, CaseIterable {
    case e1000
    /// virtio-net 1.0 (modern only): memory BARs, feature VERSION_1.
    case virtio
    /// virtio-net 0.9.5 (legacy only): an I/O-port BAR, 32 feature bits.
    case virtioLegacy = "virtio-legacy"

    /// The QEMU `-device` text for this NIC attached to netdev `netdev`.
    /// Under VFIO a modern virtio device must translate its DMA through the
    /// emulated IOMMU (iommu_platform=on, so it offers ACCESS_PLATFORM).
    public func qemuDevice(netdev: String, mac: String, slot: Int, access: LabAccess, rootPort: String? = nil) -> String {
        // romfile= (empty): no boot ROM; the firmware would spend seconds
        // starting iPXE on every NIC of a guest that boots from -kernel.
        let bus = rootPort.map { "bus=\($0),addr=0x0" } ?? "bus=pcie.0,addr=0x\(String(slot, radix: 16))"
        let placement = "netdev=\(netdev),mac=\(mac),\(bus),romfile="
        switch self {
        case .e1000:
            return "e1000,\(placement)"
        case .virtio:
            return "virtio-net-pci,\(placement),disable-legacy=on,disable-modern=off"
                + (access == .vfio ? ",iommu_platform=on" : "")
        case .virtioLegacy:
            return "virtio-net-pci,\(placement),disable-legacy=off,disable-modern=on"
        }
    }

    /// The device text for a NIC with `queuePairs` pairs: virtio gets
    /// mq=on and a vector per queue plus config and control (2N + 2), and
    /// with `rss` the device's receive-side scaling (QEMU 7.2 computes the
    /// Toeplitz hash in software when eBPF steering is unavailable).
    public func qemuDevice(netdev: String, mac: String, slot: Int, access: LabAccess, queuePairs: Int, rss: Bool = false,
                           rootPort: String? = nil) -> String {
        let device = qemuDevice(netdev: netdev, mac: mac, slot: slot, access: access, rootPort: rootPort)
        guard queuePairs > 1, supportsQueuePairs else { return device }
        return device + ",mq=on,vectors=\(2 * queuePairs + 2)" + (rss ? ",rss=on" : "")
    }

    /// Whether the NIC can have several queue pairs (virtio-net's MQ).
    public var supportsQueuePairs: Bool { self != .e1000 }

    /// Vendor and device ID the guest sees.
    public var pciID: (vendor: UInt16, device: UInt16) {
        switch self {
        case .e1000: return (0x8086, 0x100e)
        case .virtio: return (0x1af4, 0x1041)
        case .virtioLegacy: return (0x1af4, 0x1000)
        }
    }

    public init?(vendor: UInt16, device: UInt16) {
        guard let kind = Self.allCases.first(where: { $0.pciID == (vendor, device) }) else { return nil }
        self = kind
    }
}

/// How the guest gives the NICs to userspace.
public enum LabAccess: String, Sendable, CaseIterable {
    /// vfio-pci behind QEMU's emulated intel-iommu.
    case vfio
    /// uio_pci_generic, no IOMMU.
    case uio
    /// Leave the NICs unbound (for a kernel-driver comparison run).
    case none

    public var kernelDriver: String? {
        switch self {
        case .vfio: return "vfio-pci"
        case .uio: return "uio_pci_generic"
        case .none: return nil
        }
    }
}

/// One NIC of a lab run: its kind, MAC, guest PCI slot and host tap.
public struct LabNIC: Sendable, Equatable {
    /// Lab NICs sit on the root bus from this slot on: 0000:00:10.0, 00:11.0, ...
    public static let firstSlot = 0x10

    public let kind: NICKind
    public let mac: String
    public let slot: Int
    public let tap: String
    /// An address for the Linux side of the tap ("10.0.0.1/24"), or nil.
    public let peerAddress: String?
    /// Queue pairs (virtio MQ; a multiqueue tap with as many queues), 1 otherwise.
    public var queuePairs: Int = 1
    /// Receive-side scaling in the device (virtio rss=on, with queue pairs).
    public var rss = false
    /// Behind a PCIe root port of its own at `slot` (hot-pluggable, QEMU id
    /// `nicN`): the root bus itself takes no hot unplug on q35.
    public var hotplug = false

    /// The NIC's PCI address in the guest: on the root bus, or alone on the
    /// bus behind its root port (root ports in slot order get buses 1, 2, ...).
    public var guestAddress: String {
        hotplug ? "0000:\(hex2(slot - Self.firstSlot + 1)):00.0" : "0000:00:\(hex2(slot)).0"
    }

    /// The NICs for a run: kinds in order, MACs given or QEMU's
    /// 52:54:00:12:34:56 counted up, peer addresses by position.
    public static func plan(kinds: [NICKind], macs: [String], peerAddresses: [String], queuePairs: Int = 1,
                            rss: Bool = false) throws(LabError) -> [LabNIC] {
        guard (1...8).contains(queuePairs) else { throw LabError("--queue-pairs \(queuePairs): 1...8") }
        guard kinds.count <= 16 else { throw LabError("at most 16 NICs, \(kinds.count) asked for") }
        guard macs.count <= kinds.count else { throw LabError("\(macs.count) --mac values for \(kinds.count) NICs") }
        guard peerAddresses.count <= kinds.count else {
            throw LabError("\(peerAddresses.count) --peer-ip values for \(kinds.count) NICs")
        }
        for mac in macs where !isValidMAC(mac) {
            throw LabError("--mac \(mac) is not a MAC address like 52:54:00:12:34:56")
        }
        return kinds.enumerated().map { index, kind in
            LabNIC(
                kind: kind, mac: index < macs.count ? macs[index].lowercased() : "52:54:00:12:34:\(hex2(0x56 + index))",
                slot: firstSlot + index, tap: "tap\(index)",
                peerAddress: index < peerAddresses.count ? peerAddresses[index] : nil,
                queuePairs: kind.supportsQueuePairs ? queuePairs : 1, rss: rss && kind.supportsQueuePairs && queuePairs > 1)
        }
    }

    static func isValidMAC(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts.allSatisfy { $0.count == 2 && UInt8($0, radix: 16) != nil }
    }
}

func hex2(_ value: Int) -> String {
    let digits = String(value, radix: 16)
    return digits.count < 2 ? "0" + digits : digits
}
