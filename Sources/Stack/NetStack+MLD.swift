import Packets
import Wire

/// IPv6 multicast listening (RFC 3810, MLDv2 listener side): sockets join
/// and leave groups on an interface; the interface reports each change
/// twice (§6.1, one Unsolicited Report Interval apart) and answers
/// queries after a random delay within their Maximum Response Delay
/// (§6.2) with its current state, so a snooping switch or a Linux bridge
/// forwards the groups to us. The NIC takes every multicast frame
/// already (all-multicast from `addInterface`, RFC 4861 §7.2.1).
extension NetStack {
    /// One more join of `group` on interface `index` (a socket's
    /// IPV6_JOIN_GROUP); the first one is reported at once.
    public func ipv6JoinGroup(_ group: IPv6Address, interface index: Int) throws(StackError) {
        let interface = try multicastInterface(group, index)
        guard let first = interface.ipv6!.multicast.join(group) else {
            throw StackError(.tooManyEndpoints, "interface \(index) has joined \(MulticastMembership.maximumGroups) groups: leave one first")
        }
        if first { sendMLDChanges(interface) }
    }

    /// One join fewer (IPV6_LEAVE_GROUP); the last one is reported.
    public func ipv6LeaveGroup(_ group: IPv6Address, interface index: Int) throws(StackError) {
        let interface = try multicastInterface(group, index)
        guard interface.ipv6!.multicast.contains(group) else {
            throw StackError(.notFound, "interface \(index) has not joined \(group)")
        }
        if interface.ipv6!.multicast.leave(group) { sendMLDChanges(interface) }
    }

    /// The groups sockets joined on interface `index`.
    public func ipv6JoinedGroups(interface index: Int) -> [IPv6Address] {
        guard index >= 0, index < interfaces.count else { return [] }
        return interfaces[index].ipv6?.multicast.groups ?? []
    }

    /// The first interface with IPv6 (where a join with interface 0 goes).
    public var defaultMulticastInterface: Int? {
        interfaces.firstIndex { $0.ipv6 != nil }
    }

    private func multicastInterface(_ group: IPv6Address, _ index: Int) throws(StackError) -> NetInterface {
        guard group.isMulticast else { throw StackError(.invalidConfiguration, "\(group) is not a multicast address (ff00::/8)") }
        guard index >= 0, index < interfaces.count, interfaces[index].ipv6 != nil else {
            throw StackError(.notFound, "no IPv6 interface \(index) (this stack has \(interfaces.count) interfaces)")
        }
        return interfaces[index]
    }

    /// Sends the interface's pending state-change records, and schedules
    /// the retransmission while some are left.
    func sendMLDChanges(_ interface: NetInterface) {
        let records = interface.ipv6!.multicast.takeChangeRecords()
        if !records.isEmpty { sendMLDReport(records, on: interface) }
        scheduleMLDTimer(interface, after: clock.cyclesPerSecond)
    }

    /// Once the addresses are in use: one report of every group listened
    /// to (the solicited-node ones too, RFC 4862 §5.4.2), so a snooping
    /// switch forwards neighbour solicitations to us.
    func announceMulticastListening(_ interface: NetInterface) {
        guard let state = interface.ipv6 else { return }
        state.multicast.answerAll = true
        scheduleMLDTimer(interface, after: 1)
    }

    private func scheduleMLDTimer(_ interface: NetInterface, after cycles: UInt64) {
        let membership = interface.ipv6!.multicast
        guard !membership.timerScheduled,
              !membership.changes.isEmpty || membership.answerAll || !membership.answerGroups.isEmpty else { return }
        interface.ipv6!.multicast.timerScheduled = schedule(after: max(cycles, 1), .mldReport(interface: Int32(interface.index)))
    }

    func mldTimerFired(_ interface: NetInterface) {
        guard let state = interface.ipv6 else { return }
        state.multicast.timerScheduled = false
        if state.multicast.answerAll || !state.multicast.answerGroups.isEmpty {
            let asked = state.multicast.answerAll ? nil : state.multicast.answerGroups
            state.multicast.answerAll = false
            state.multicast.answerGroups = []
            let records = reportedGroups(state).filter { asked?.contains($0) ?? true }.map { (type: MLD.RecordType.modeIsExclude, group: $0) }
            if !records.isEmpty { sendMLDReport(records, on: interface) }
        }
        sendMLDChanges(interface)
    }

    /// What the interface listens to, as MLD reports it: the solicited-node
    /// groups and the joined ones (never ff02::1, RFC 3810 §6).
    private func reportedGroups(_ state: IPv6InterfaceState) -> [IPv6Address] {
        var groups: [IPv6Address] = []
        for network in state.addresses where !groups.contains(network.address.solicitedNodeMulticast) {
            groups.append(network.address.solicitedNodeMulticast)
        }
        return groups + state.multicast.groups.filter { !groups.contains($0) }
    }

    /// A query (§5.1; from a link-local router with hop limit 1, Wire checks):
    /// answered after a random delay up to its Maximum Response Delay.
    func handleMLDQuery(_ query: MLD.Query, on interface: NetInterface) {
        guard let state = interface.ipv6 else { return }
        tally[.mldQueries] += 1
        if query.group.isUnspecified {
            state.multicast.answerAll = true
        } else if state.listens(to: query.group), query.group != .allNodes,
                  !state.multicast.answerGroups.contains(query.group), state.multicast.answerGroups.count < MulticastMembership.maximumGroups {
            state.multicast.answerGroups.append(query.group)
        } else {
            return
        }
        let maximum = UInt64(max(query.maximumResponseMilliseconds, 1)) * clock.cyclesPerSecond / 1000
        scheduleMLDTimer(interface, after: UInt64.random(in: 0..<max(maximum, 1)))
    }

    /// An MLDv2 report to ff02::16 from our link-local address (:: while
    /// it is tentative, RFC 3810 §5.2.13), hop limit 1, Router Alert.
    private func sendMLDReport(_ records: [(type: MLD.RecordType, group: IPv6Address)], on interface: NetInterface) {
        guard let state = interface.ipv6 else { return }
        // 61 records of 20 bytes fit the minimum MTU of 1280; groups are fewer.
        let records = Array(records.prefix(60))
        guard let message = allocateMessage(MLD.reportLength(records: records.count)) else { return }
        let (packet, bytes) = message
        MLD.emitReport(records, into: bytes)
        let source = state.owns(state.linkLocal) ? state.linkLocal : IPv6Address.unspecified
        let icmp = ICMPv6Message(unchecked: UnsafeMutableRawBufferPointer(rebasing: bytes[MLD.hopByHopLength...]))
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: source, destination: MLD.allMLDv2Routers, nextHeader: .icmpv6, length: icmp.bytes.count)
        icmp.checksum = InternetChecksum.finish(InternetChecksum.sum(UnsafeRawBufferPointer(icmp.bytes), initial: pseudo))
        tally[.mldReportsSent] += 1
        sendIPv6(packet, nextHeader: .ipv6HopByHop, to: MLD.allMLDv2Routers,
                 route: IPv6Route(interface: interface, nextHop: MLD.allMLDv2Routers, source: source), hopLimit: 1)
    }
}

/// How a datagram to a multicast group goes (a socket's IPV6_MULTICAST_IF,
/// IPV6_MULTICAST_HOPS and IPV6_MULTICAST_LOOP; Linux's defaults).
public struct MulticastSendOptions: Sendable, Equatable {
    /// The interface index (nil: the first with IPv6).
    public var interface: Int?
    public var hopLimit: UInt8
    public var loop: Bool

    public init(interface: Int? = nil, hopLimit: UInt8 = 1, loop: Bool = true) {
        self.interface = interface
        self.hopLimit = hopLimit
        self.loop = loop
    }
}

extension NetStack {
    /// The way to a group: the chosen (or first IPv6) interface, the group's
    /// MAC as next hop, a source of the group's scope (link-local when the
    /// interface has no other).
    func multicastRoute(to group: IPv6Address, interface index: Int?) -> IPv6Route? {
        guard let index = index ?? defaultMulticastInterface, index >= 0, index < interfaces.count,
              let state = interfaces[index].ipv6 else { return nil }
        let source = state.sourceAddress(for: group) ?? (state.owns(state.linkLocal) ? state.linkLocal : nil)
        guard let source else { return nil }
        return IPv6Route(interface: interfaces[index], nextHop: group, source: source)
    }

    /// IPV6_MULTICAST_LOOP: this core's sockets of a group the interface
    /// joined get the datagram (UDP header and data, one segment) as if it
    /// had arrived; its IPv6 header is written in the copy's headroom.
    func loopMulticast(_ datagram: PacketBuffer, to group: IPv6Address, route: IPv6Route, hopLimit: UInt8) {
        guard let state = route.interface.ipv6, state.multicast.contains(group) else { return }
        guard let copy = datagram.copy(into: pool), copy.headroom >= IPv6Packet.headerLength, let port = udpDestinationPort(copy) else {
            tally[.noBuffers] += 1
            return
        }
        IPv6Repr(source: route.source, destination: group, nextHeader: .udp, payloadLength: copy.length, hopLimit: hopLimit)
            .emit(into: IPv6Packet(unchecked: UnsafeMutableRawBufferPointer(start: copy.data - IPv6Packet.headerLength,
                                                                              count: IPv6Packet.headerLength)))
        let sourcePort = UDPDatagram(unchecked: UnsafeMutableRawBufferPointer(start: copy.data, count: UDPDatagram.headerLength)).sourcePort
        deliverUDPv6Multicast(copy, IPv6Delivery(source: route.source, destination: group, hopLimit: hopLimit, upperLayer: .udp,
                                                 interface: route.interface), sourcePort: sourcePort, port: port)
    }

    private func udpDestinationPort(_ packet: PacketBuffer) -> UInt16? {
        guard packet.length >= UDPDatagram.headerLength else { return nil }
        return UDPDatagram(unchecked: UnsafeMutableRawBufferPointer(start: packet.data, count: UDPDatagram.headerLength)).destinationPort
    }
}
