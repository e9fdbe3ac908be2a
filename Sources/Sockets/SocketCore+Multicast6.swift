import Glibc
import Stack
import SystemPackage
import Wire

/// IPv6 multicast on AF_INET6 datagram sockets (RFC 3493 §5.2): join and
/// leave groups (the stack reports them with MLDv2), and how datagrams to
/// a group leave (interface, hop limit, loopback). Errnos and defaults as
/// Linux's do_ipv6_setsockopt / ipv6_sock_mc_join / ipv6_sock_mc_drop.
extension SocketCore {
    /// IPV6_JOIN_GROUP / IPV6_ADD_MEMBERSHIP and IPV6_LEAVE_GROUP /
    /// IPV6_DROP_MEMBERSHIP with a `struct ipv6_mreq` (interface 0: the
    /// first IPv6 interface; N: interface N - 1, as scope ids).
    func setMembership(_ entry: SocketEntry, _ name: Int32, _ value: OptionValue) throws(SocketError) {
        guard value.bytes.count >= MemoryLayout<ipv6_mreq>.size else {
            throw SocketError(.invalidArgument, "option \(name) takes a struct ipv6_mreq: value length \(value.bytes.count) < \(MemoryLayout<ipv6_mreq>.size)")
        }
        guard entry.kind == .datagram else {
            throw SocketError(Errno(rawValue: EPROTO), "multicast membership on a SOCK_STREAM socket: TCP does not take multicast")
        }
        let request = value.bytes.loadUnaligned(as: ipv6_mreq.self)
        let group = withUnsafeBytes(of: request.ipv6mr_multiaddr) { IPv6Address(loadingFrom: $0.baseAddress!) }
        guard group.isMulticast else {
            throw SocketError(.invalidArgument, "\(group) is not a multicast address (ff00::/8)")
        }
        let requested = Int(request.ipv6mr_interface)
        if name == IPV6_ADD_MEMBERSHIP {
            try join(entry, group, requested: requested)
        } else {
            guard let i = entry.memberships.firstIndex(where: { $0.group == group && (requested == 0 || $0.interface == requested - 1) }) else {
                throw SocketError(.addressNotAvailable, "the socket has not joined \(group)\(requested == 0 ? "" : " on interface \(requested)")")
            }
            try? stack.ipv6LeaveGroup(group, interface: entry.memberships[i].interface)
            entry.memberships.remove(at: i)
            stack.flush()
        }
    }

    private func join(_ entry: SocketEntry, _ group: IPv6Address, requested: Int) throws(SocketError) {
        if entry.memberships.contains(where: { $0.group == group && (requested == 0 || $0.interface == requested - 1) }) {
            throw SocketError(.addressInUse, "the socket has joined \(group) already")
        }
        guard let interface = requested == 0 ? stack.defaultMulticastInterface : requested - 1,
              interface < stack.interfaceCount else {
            throw SocketError(Errno(rawValue: ENODEV), "no interface \(requested) with IPv6 (this core has \(stack.interfaceCount); 0 picks the first)")
        }
        do {
            try stack.ipv6JoinGroup(group, interface: interface)
        } catch {
            if error.kind == .notFound { throw SocketError(Errno(rawValue: ENODEV), error.description) }
            throw SocketError(.noBufferSpace, error.description)
        }
        entry.memberships.append((group, interface))
        stack.flush()
    }

    /// A closing socket leaves its groups (the last one out is reported).
    func leaveAllGroups(_ entry: SocketEntry) {
        for membership in entry.memberships { try? stack.ipv6LeaveGroup(membership.group, interface: membership.interface) }
        entry.memberships = []
    }

    /// IPV6_MULTICAST_IF (an interface index, 0 = the default),
    /// IPV6_MULTICAST_HOPS (0...255, -1 = 1), IPV6_MULTICAST_LOOP (0 or 1);
    /// ENOPROTOOPT on a stream socket for the first two, as Linux.
    func setMulticastSendOption(_ entry: SocketEntry, _ name: Int32, _ value: OptionValue) throws(SocketError) {
        if name != IPV6_MULTICAST_LOOP, entry.kind == .stream {
            throw SocketError(.protocolNotAvailable, "option \(name) is for datagram sockets")
        }
        let v = try value.int()
        switch name {
        case IPV6_MULTICAST_HOPS:
            guard (-1...255).contains(v) else {
                throw SocketError(.invalidArgument, "IPV6_MULTICAST_HOPS \(v): use 0...255 (or -1 for the default 1)")
            }
            entry.multicast.hopLimit = v == -1 ? 1 : UInt8(v)
        case IPV6_MULTICAST_LOOP:
            guard v == 0 || v == 1 else { throw SocketError(.invalidArgument, "IPV6_MULTICAST_LOOP \(v): use 0 or 1") }
            entry.multicast.loop = v == 1
        default:  // IPV6_MULTICAST_IF
            guard v >= 0, v <= stack.interfaceCount else {
                throw SocketError(Errno(rawValue: ENODEV), "IPV6_MULTICAST_IF \(v): this core has interfaces 1...\(stack.interfaceCount) (0 = the default)")
            }
            entry.multicast.interface = v == 0 ? nil : Int(v) - 1
        }
    }

    func getMulticastSendOption(_ entry: SocketEntry, _ name: Int32) throws(SocketError) -> Int32 {
        if name != IPV6_MULTICAST_LOOP, entry.kind == .stream {
            throw SocketError(.protocolNotAvailable, "option \(name) is for datagram sockets")
        }
        switch name {
        case IPV6_MULTICAST_HOPS: return Int32(entry.multicast.hopLimit)
        case IPV6_MULTICAST_LOOP: return entry.multicast.loop ? 1 : 0
        default: return Int32(entry.multicast.interface.map { $0 + 1 } ?? 0)
        }
    }
}
