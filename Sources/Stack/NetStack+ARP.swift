import Packets
import Wire

extension NetStack {
    /// An ARP packet (Ethernet header removed): learn the sender when the
    /// request is for us or the sender is known, answer requests for our
    /// addresses.
    func handleARP(_ packet: PacketBuffer, on interface: NetInterface) {
        let repr: ARPRepr
        do {
            repr = try ARPRepr.parse(ARPPacket(checking: packet.bytes))
        } catch {
            tally.countMalformed(.arp, error)
            packet.free()
            return
        }
        let forUs = repr.targetProtocolAddress == interface.address
        if repr.operation == .request { tally[.arpRequestsReceived] += 1 } else { tally[.arpRepliesReceived] += 1 }
        let sender = repr.senderProtocolAddress
        // Our own address is learnt only from our own MAC: a port that
        // reflects frames (dp_init --loopback) lets the stack talk to itself.
        let fromSelf = sender == interface.address && repr.senderHardwareAddress == interface.macAddress
        if !sender.isUnspecified && !sender.isBroadcast && (sender != interface.address || fromSelf)
            && repr.senderHardwareAddress.isValidUnicast {
            arp.confirm(sender, at: repr.senderHardwareAddress, interface: interface.index, create: forUs, now: now) {
                waiting, mac, index in
                sendFrame(waiting, to: mac, etherType: .ipv4, on: interfaces[index])
            }
        }
        guard forUs else {
            tally[.arpNotForUs] += 1
            packet.free()
            return
        }
        guard repr.operation == .request else {
            packet.free()
            return
        }
        // Answer in the same buffer.
        let reply = ARPRepr(operation: .reply, senderHardwareAddress: interface.macAddress,
                            senderProtocolAddress: interface.address,
                            targetHardwareAddress: repr.senderHardwareAddress, targetProtocolAddress: sender)
        reply.emit(into: ARPPacket(unchecked: packet.bytes))
        tally[.arpRepliesSent] += 1
        sendFrame(packet, to: repr.senderHardwareAddress, etherType: .arp, on: interface)
    }

    /// Builds and queues an ARP request from `interface` for `target`.
    func sendARPRequest(for target: IPv4Address, on interface: NetInterface, gratuitous: Bool = false) {
        guard let packet = pool.allocate() else {
            tally[.noBuffers] += 1
            return
        }
        // Pad to the Ethernet minimum (60 bytes without CRC).
        guard let start = packet.append(60 - EthernetFrame.headerLength) else {
            packet.free()
            tally[.noBuffers] += 1
            return
        }
        let bytes = UnsafeMutableRawBufferPointer(start: start, count: 60 - EthernetFrame.headerLength)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        ARPRepr(operation: .request, senderHardwareAddress: interface.macAddress, senderProtocolAddress: interface.address,
                targetHardwareAddress: .zero, targetProtocolAddress: target)
            .emit(into: ARPPacket(unchecked: bytes))
        tally[gratuitous ? .arpGratuitousSent : .arpRequestsSent] += 1
        sendFrame(packet, to: .broadcast, etherType: .arp, on: interface)
    }

    /// A gratuitous ARP (a request for our own address) so neighbours
    /// learn or refresh us.
    func sendGratuitousARP(_ interface: NetInterface) {
        sendARPRequest(for: interface.address, on: interface, gratuitous: true)
    }

    /// Sends a finished IPv4 packet to `nextHop` on `interface`: now when
    /// its link address is known, else after resolution.
    @inline(__always)
    func sendIPv4Frame(_ packet: PacketBuffer, nextHop: IPv4Address, on interface: NetInterface) {
        if interface.accepts(nextHop) && nextHop != interface.address {
            sendFrame(packet, to: .broadcast, etherType: .ipv4, on: interface)
            return
        }
        switch arp.lookup(nextHop, interface: interface.index, packet: packet, now: now) {
        case .resolved(let mac):
            sendFrame(packet, to: mac, etherType: .ipv4, on: interface)
        case .resolvedRefresh(let mac):
            sendFrame(packet, to: mac, etherType: .ipv4, on: interface)
            sendARPRequest(for: nextHop, on: interface)
        case .queued(let entry, let generation, let firstRequest):
            if firstRequest {
                sendARPRequest(for: nextHop, on: interface)
                if !schedule(after: arp.retryCycles, .arpRetry(entry: Int32(entry), generation: generation)) {
                    // Without its timer the entry would wait forever.
                    tally[.arpUnresolved] += UInt64(arp.abandon(entry: entry, generation: generation, failed: neighbourFailed))
                }
            }
        case .dropped(let reason):
            tally[reason] += 1
        }
    }

    func arpRetryFired(entry: Int, generation: UInt32) {
        switch arp.retry(entry: entry, generation: generation, failed: neighbourFailed) {
        case .request(let address, let index, let after):
            sendARPRequest(for: address, on: interfaces[index])
            if !schedule(after: after, .arpRetry(entry: Int32(entry), generation: generation)) {
                tally[.arpUnresolved] += UInt64(arp.abandon(entry: entry, generation: generation, failed: neighbourFailed))
            }
        case .gaveUp(let dropped):
            tally[.arpUnresolved] += UInt64(dropped)
        case .none:
            break
        }
    }

    /// What the neighbour table holds for `address`: its link address and
    /// whether it is confirmed (reachable) or only stale; nil when unknown
    /// or still being resolved.
    public func neighbour(_ address: IPv4Address) -> (macAddress: MACAddress, reachable: Bool)? {
        guard let entry = arp.entry(for: address) else { return nil }
        switch entry.state {
        case .reachable: return (entry.macAddress, now < entry.reachableUntil)
        case .stale: return (entry.macAddress, false)
        case .permanent: return (entry.macAddress, true)
        case .incomplete, .free: return nil
        }
    }
}
