import NetDevice
import Packets

/// Which of the offered features the driver takes, and a note for each one
/// it leaves (for `DeviceInfo.notes`). Pure: no device access.
struct VirtioFeatureNegotiation: Equatable {
    let offered: VirtioFeatures
    let accepted: VirtioFeatures
    let notes: [String]

    /// What the driver asks for.
    struct Request {
        var isLegacy: Bool
        var behindIOMMU: Bool
        var queuePairs: Int
        var transmitChecksum: Bool
        var receiveChecksum: Bool
        /// Frames coalesced by the host (GUEST_TSO4 over MRG_RXBUF).
        var receiveCoalescing: Bool
        /// The port configuration asks for RSS (a key and redirection table).
        var receiveSideScaling: Bool
        var options: VirtioNetOptions
        /// The port configuration asks for TCP segmentation (TSO).
        var transmitSegmentation = false
        /// ... and for TCP over IPv6 too (TSO6).
        var transmitSegmentationIPv6 = false
    }

    init(offered: VirtioFeatures, request: Request) throws(DeviceError) {
        self.offered = offered
        var choice = Choice(offered: offered)
        try choice.takeTransportFeatures(request)
        choice.takeDeviceFeatures(request)
        try choice.takeControlFeatures(request)
        choice.takeEventIndex(request)
        choice.noteFeaturesNotImplemented()
        accepted = choice.take
        notes = choice.notes
    }

    /// The features taken so far and the notes on those left, built up in
    /// the order the notes appear.
    private struct Choice {
        let offered: VirtioFeatures
        var take: VirtioFeatures = []
        var notes = [String]()

        init(offered: VirtioFeatures) { self.offered = offered }

        mutating func note(_ feature: VirtioFeatures, _ reason: String) {
            for bit in feature.intersection(offered).bits { notes.append("\(VirtioFeatures.name(ofBit: bit)): \(reason)") }
        }

        /// Takes `feature` (a single bit) when the device offers it.
        mutating func takeIfOffered(_ feature: VirtioFeatures) { if offered.contains(feature) { take.insert(feature) } }

        /// The legacy or modern interface's required feature, and
        /// ACCESS_PLATFORM where an IOMMU needs it.
        mutating func takeTransportFeatures(_ request: Request) throws(DeviceError) {
            if request.isLegacy {
                // Header and frame in one buffer needs ANY_LAYOUT before 1.0.
                guard offered.contains(.anyLayout) else {
                    throw DeviceError(.unsupported,
                        "legacy virtio device without VIRTIO_F_ANY_LAYOUT: this driver puts header and frame in one buffer; use a modern device (disable-legacy=on)")
                }
                take.insert(.anyLayout)
                if request.behindIOMMU {
                    notes.append("VIRTIO_F_ACCESS_PLATFORM: a legacy device cannot negotiate it; its DMA bypasses the IOMMU, so rings and pools use IOVA = physical address")
                }
            } else {
                guard offered.contains(.version1) else {
                    throw DeviceError(.unsupported, "modern virtio device without VIRTIO_F_VERSION_1: it is not a virtio 1.x device")
                }
                take.insert(.version1)
                if request.behindIOMMU && !offered.contains(.accessPlatform) {
                    throw DeviceError(.unsupported,
                        "virtio device behind an IOMMU (VFIO) without VIRTIO_F_ACCESS_PLATFORM: its DMA would bypass the IOMMU mappings; "
                        + "start QEMU with iommu_platform=on on the device (or bind it to uio_pci_generic)")
                }
            }
            // A device that offers ACCESS_PLATFORM may refuse a driver that
            // ignores it; IOVAs from VFIO or physical addresses both suit it.
            takeIfOffered(.accessPlatform)
        }

        /// Configuration fields, mergeable buffers and checksum offloads.
        mutating func takeDeviceFeatures(_ request: Request) {
            takeIfOffered(.mac)
            takeIfOffered(.status)
            takeIfOffered(.mtu)

            if request.options.mergeableReceiveBuffers { takeIfOffered(.mergeableRxBuffers) } else {
                note(.mergeableRxBuffers, "not taken (mergeable receive buffers turned off in the driver options)")
            }
            if request.transmitChecksum { takeIfOffered(.csum) } else {
                note(.csum, "not taken: no transmit L4 checksum offload in the port configuration")
            }
            // HOST_TSO4 needs CSUM (virtio 1.x 5.1.3.1): the device sums each piece.
            if request.transmitSegmentation && take.contains(.csum) { takeIfOffered(.hostTSO4) } else {
                note(.hostTSO4, "not taken: no transmit TCP segmentation (with L4 checksum) in the port configuration")
            }
            if request.transmitSegmentationIPv6 && take.contains(.csum) { takeIfOffered(.hostTSO6) } else {
                note(.hostTSO6, "not taken: no transmit TCP-over-IPv6 segmentation (with L4 checksum) in the port configuration")
            }
            if request.receiveChecksum { takeIfOffered(.guestCsum) } else {
                note(.guestCsum, "not taken: no receive L4 checksum offload in the port configuration (frames arrive with full checksums)")
            }
            takeReceiveCoalescing(request)
        }

        /// GUEST_TSO4 needs GUEST_CSUM (virtio 1.x 5.1.3.1) and, with
        /// buffers of one MTU, MRG_RXBUF to spread a 64 KiB frame.
        mutating func takeReceiveCoalescing(_ request: Request) {
            // GUEST_TSO6: the stack takes coalesced IPv6 frames the same way.
            guard request.receiveCoalescing else {
                note([.guestTSO4, .guestTSO6], "not taken: no receive coalescing in the port configuration")
                return
            }
            guard take.contains([.guestCsum, .mergeableRxBuffers]) else {
                note([.guestTSO4, .guestTSO6], "not taken: it needs VIRTIO_NET_F_GUEST_CSUM and VIRTIO_NET_F_MRG_RXBUF")
                return
            }
            takeIfOffered(.guestTSO4)
            takeIfOffered(.guestTSO6)
        }

        /// The control queue and what needs it (receive mode, MAC, queue pairs).
        mutating func takeControlFeatures(_ request: Request) throws(DeviceError) {
            if request.options.controlQueue {
                takeIfOffered(.ctrlVQ)
                if offered.contains(.ctrlVQ) {
                    takeIfOffered(.ctrlRx)
                    takeIfOffered(.ctrlMACAddress)
                    takeIfOffered(.multiqueue)
                } else {
                    notes.append("VIRTIO_NET_F_CTRL_VQ: not offered: promiscuous, all-multicast, MAC changes and multiqueue are unavailable")
                }
            } else {
                note([.ctrlVQ, .ctrlRx, .ctrlMACAddress, .multiqueue], "not taken (control queue turned off in the driver options)")
            }
            if request.receiveSideScaling {
                guard offered.contains(.rss), take.contains([.multiqueue, .ctrlVQ]) else {
                    throw DeviceError(.unsupported,
                        "receive-side scaling needs VIRTIO_NET_F_RSS, VIRTIO_NET_F_MQ and VIRTIO_NET_F_CTRL_VQ (QEMU: mq=on,rss=on); offered: \(offered)")
                }
                take.insert(.rss)
            }
            if request.queuePairs > 1 && !take.contains([.multiqueue, .ctrlVQ]) {
                throw DeviceError(.unsupported,
                    "\(request.queuePairs) queue pairs need VIRTIO_NET_F_MQ and VIRTIO_NET_F_CTRL_VQ, which the device does not offer (QEMU: mq=on)")
            }
        }

        mutating func takeEventIndex(_ request: Request) {
            if request.options.eventIndex { takeIfOffered(.eventIndex) } else {
                note(.eventIndex, "not taken (turned off in the driver options): doorbells follow VRING_USED_F_NO_NOTIFY")
            }
        }

        /// A note for each offered feature the driver does not implement.
        mutating func noteFeaturesNotImplemented() {
            // Those already decided on (taken or noted) above are left out.
            note(VirtioFeatures([.guestECN, .guestUFO, .hostECN, .hostUFO,
                                 .guestUSO4, .guestUSO6, .hostUSO]).subtracting(take),
                 "not taken: segmentation offloads are not implemented")
            note(.ctrlGuestOffloads, "not taken: receive offloads are fixed at start")
            note(.ctrlVLAN, "not taken: no VLAN filtering")
            note(.guestAnnounce, "not taken: no gratuitous ARP announcements")
            note(.ringPacked, "not taken: packed virtqueues are not implemented, split virtqueues are used")
            note(.indirectDescriptors, "not taken: one descriptor per segment, no indirect tables")
            note(.inOrder, "not taken: completions are handled in any order")
            note(.notifyOnEmpty, "not taken: the driver polls")
            note(.hashReport, "not taken: the stack computes the Toeplitz hash itself where it needs it")
            note(VirtioFeatures.rss.subtracting(take), "not taken: no RSS asked for in the port configuration (queue pairs are chosen by the device)")
            note(.speedDuplex, "not taken: link speed reported as 10 Gbit/s")
            let known: VirtioFeatures = [.version1, .accessPlatform, .anyLayout, .mac, .status, .mtu, .mergeableRxBuffers,
                                         .csum, .guestCsum, .ctrlVQ, .ctrlRx, .ctrlMACAddress, .multiqueue, .eventIndex,
                                         .guestTSO4, .guestTSO6, .guestECN, .guestUFO, .hostTSO4, .hostTSO6, .hostECN, .hostUFO,
                                         .guestUSO4, .guestUSO6, .hostUSO, .ctrlGuestOffloads, .ctrlVLAN, .guestAnnounce,
                                         .ringPacked, .indirectDescriptors, .inOrder, .notifyOnEmpty, .hashReport, .rss, .speedDuplex]
            note(offered.subtracting(known).subtracting(take), "not taken: not used by this driver")
        }
    }

    /// The receive offloads a device offering `offered` gives this driver.
    static func receiveOffloads(offered: VirtioFeatures, options: VirtioNetOptions) -> OffloadFlags {
        guard offered.contains(.guestCsum) else { return [] }
        let coalescing = offered.contains(.mergeableRxBuffers) && !offered.isDisjoint(with: [.guestTSO4, .guestTSO6])
            && options.mergeableReceiveBuffers
        return coalescing ? [.rxL4ChecksumGood, .rxL4ChecksumNone, .rxTCPCoalesced] : [.rxL4ChecksumGood, .rxL4ChecksumNone]
    }

    /// Bytes of virtio-net header in front of each frame.
    var headerSize: Int {
        accepted.contains(.version1) || accepted.contains(.mergeableRxBuffers)
            ? VirtioNetHeader.sizeWithBufferCount : VirtioNetHeader.legacySize
    }
}
