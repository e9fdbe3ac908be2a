import Packets
import Wire

/// The UDP endpoints of a stack and their demultiplexing: a datagram goes
/// to the endpoint connected to its exact 4-tuple, else to one bound to its
/// destination address and port, else to one bound to the port on any
/// address. Keys are IPv6-wide (RFC 4291 §2.5.5.2): IPv4 addresses as
/// v4-mapped ::ffff:a.b.c.d, the IPv4 wildcard as ::ffff:0.0.0.0, and ::
/// the wildcard of both families (IPv6 only when the entry is v6-only).
/// Each endpoint has a bounded queue of received datagrams. The
/// entries grow as endpoints are bound, up to the limit (closed ones are
/// reused first), so an unused limit costs nothing.
final class UDPTable {
    struct Key: Hashable {
        var localAddress: IPv6Address
        var localPort: UInt16
        var remoteAddress: IPv6Address
        var remotePort: UInt16
    }

    /// A binding of IPv4 ends (local v4-mapped, remote v4-mapped or
    /// unset) in 12 bytes: IPv4 datagrams probe these, not 48-byte keys.
    struct IPv4Key: Hashable {
        var local: UInt32
        var remote: UInt32
        /// Local port << 16 | remote port.
        var ports: UInt32

        @inline(__always) init(local: UInt32, localPort: UInt16, remote: UInt32, remotePort: UInt16) {
            self.local = local
            self.remote = remote
            ports = UInt32(localPort) << 16 | UInt32(remotePort)
        }

        /// nil for a key of the IPv6 map: an IPv6 end, and the one IPv4
        /// key that would look unset here (connected to 0.0.0.0 port 0).
        init?(_ key: Key) {
            guard key.localAddress.isIPv4Mapped else { return nil }
            if key.remoteAddress == .unspecified {
                guard key.remotePort == 0 else { return nil }
            } else {
                guard key.remoteAddress.isIPv4Mapped, key.remoteAddress != UDPTable.anyIPv4 || key.remotePort != 0 else { return nil }
            }
            self.init(local: UInt32(truncatingIfNeeded: key.localAddress.low), localPort: key.localPort,
                      remote: UInt32(truncatingIfNeeded: key.remoteAddress.low), remotePort: key.remotePort)
        }

        var isConnected: Bool { ports & 0xffff != 0 || remote != 0 }
    }

    /// The wildcard of an IPv4-only endpoint (an AF_INET socket's 0.0.0.0).
    static let anyIPv4 = IPv6Address(ipv4Mapped: .any)

    struct Entry {
        var inUse = false
        var generation: UInt32 = 0
        var key = Key(localAddress: .unspecified, localPort: 0, remoteAddress: .unspecified, remotePort: 0)
        /// Bound to :: but taking no IPv4 datagrams (IPV6_V6ONLY).
        var v6Only = false
        /// Bound with SO_REUSEADDR/SO_REUSEPORT: shares its address and port
        /// with other shared endpoints of this core (the socket group decided
        /// Linux's conflicts); unicast goes to the first, multicast to all.
        var shared = false
        var queue: UnsafeMutablePointer<PacketBuffer>
        var head = 0
        var count = 0
        var pendingError: StackError.Kind?
        var dropped: UInt64 = 0
        /// Datagrams queued since bind (edge-triggered readiness compares it).
        var arrivals: UInt64 = 0
    }

    let capacity: Int
    let queueCapacity: Int
    /// Entries made so far (each with its queue), and the room for them.
    private(set) var allocated = 0
    private var storage = 0
    private var freeEntries: [Int] = []
    /// Bound endpoints per local port (the conflict scan runs only when > 0).
    private var portUsers: [UInt16: Int] = [:]
    let ephemeralPorts: ClosedRange<UInt16>
    private var nextEphemeral: UInt16
    private(set) var entries: UnsafeMutablePointer<Entry>
    /// Bindings by key: IPv4 ones in `bindings4` (12-byte keys), the rest
    /// (IPv6 ends, the :: wildcard) in `bindings6`; `binding(_:)` picks.
    private var bindings4: [IPv4Key: Int] = [:]
    private var bindings6: [Key: Int] = [:]
    /// IPv4 bindings with a peer: without any, IPv4 lookups skip the exact probe.
    private var connected4 = 0

    init(limits: StackLimits) {
        capacity = max(limits.udpEndpoints, 1)
        queueCapacity = max(limits.udpReceiveQueueDatagrams, 1)
        ephemeralPorts = limits.udpEphemeralPorts
        nextEphemeral = ephemeralPorts.lowerBound &+ UInt16.random(in: 0...UInt16(ephemeralPorts.count - 1))
        storage = min(capacity, 16)
        entries = .allocate(capacity: storage)
    }

    /// The binding of a key, in whichever map holds its kind.
    private subscript(binding key: Key) -> Int? {
        get {
            if let key4 = IPv4Key(key) { return bindings4[key4] }
            return bindings6[key]
        }
        set {
            guard let key4 = IPv4Key(key) else { bindings6[key] = newValue; return }
            let old = newValue.map { bindings4.updateValue($0, forKey: key4) } ?? bindings4.removeValue(forKey: key4)
            if key4.isConnected { connected4 += (newValue == nil ? 0 : 1) - (old == nil ? 0 : 1) }
        }
    }

    /// A free entry: a closed one, else a new one while below the limit.
    private func takeEntry() -> Int? {
        if let free = freeEntries.popLast() { return free }
        guard allocated < capacity else { return nil }
        if allocated == storage {
            let grown = min(max(storage * 2, 16), capacity)
            let moved = UnsafeMutablePointer<Entry>.allocate(capacity: grown)
            moved.moveInitialize(from: entries, count: allocated)
            entries.deallocate()
            entries = moved
            storage = grown
        }
        entries.advanced(by: allocated).initialize(to: Entry(queue: .allocate(capacity: queueCapacity)))
        allocated += 1
        return allocated - 1
    }

    /// Frees every queued datagram (while the pools are still alive).
    func releaseAll() {
        for i in 0..<allocated { drain(i) }
    }

    deinit {
        for i in 0..<allocated {
            drain(i)
            entries[i].queue.deallocate()
        }
        entries.deinitialize(count: allocated)
        entries.deallocate()
    }

    func entryIndex(_ endpoint: UDPEndpoint) throws(StackError) -> Int {
        let i = Int(endpoint.index)
        guard i >= 0, i < allocated, entries[i].inUse, entries[i].generation == endpoint.generation else {
            throw StackError(.badEndpoint, "\(endpoint) is closed or belongs to another stack")
        }
        return i
    }

    func key(of i: Int) -> Key { entries[i].key }

    private func portInUse(_ port: UInt16, address: IPv6Address, v6Only: Bool, shared: Bool = false) -> Bool {
        guard portUsers[port, default: 0] > 0 else { return false }
        for i in 0..<allocated where entries[i].inUse && entries[i].key.localPort == port && !(shared && entries[i].shared) {
            if Self.overlap(entries[i].key.localAddress, entries[i].v6Only, address, v6Only) { return true }
        }
        return false
    }

    /// True when two bindings of one port share an address of either family.
    static func overlap(_ a: IPv6Address, _ aV6Only: Bool, _ b: IPv6Address, _ bV6Only: Bool) -> Bool {
        IPv6Address.bindingsOverlap(a, aV6Only, b, bV6Only)
    }

    /// Makes an endpoint bound to `address` (:: for both families,
    /// ::ffff:0.0.0.0 for every IPv4 address, else one address) and
    /// `port` (0 for an ephemeral one).
    func bind(address: IPv6Address, port: UInt16, v6Only: Bool = false, shared: Bool = false) throws(StackError) -> UDPEndpoint {
        guard let i = takeEntry() else {
            throw StackError(.tooManyEndpoints, "all \(capacity) UDP endpoints are in use: close some or raise StackLimits.udpEndpoints")
        }
        var chosen = port
        if chosen == 0 {
            var tries = 0
            repeat {
                chosen = nextEphemeral
                nextEphemeral = nextEphemeral >= ephemeralPorts.upperBound ? ephemeralPorts.lowerBound : nextEphemeral + 1
                tries += 1
            } while portInUse(chosen, address: address, v6Only: v6Only) && tries <= ephemeralPorts.count
            guard !portInUse(chosen, address: address, v6Only: v6Only) else {
                freeEntries.append(i)
                throw StackError(.addressInUse, "no free ephemeral UDP port in \(ephemeralPorts)")
            }
        } else if portInUse(chosen, address: address, v6Only: v6Only, shared: shared) {
            freeEntries.append(i)
            throw StackError(.addressInUse, "UDP port \(chosen) on \(address) is already bound")
        }
        portUsers[chosen, default: 0] += 1
        let key = Key(localAddress: address, localPort: chosen, remoteAddress: .unspecified, remotePort: 0)
        entries[i].inUse = true
        entries[i].v6Only = v6Only && address.isUnspecified
        entries[i].shared = shared && port != 0
        entries[i].generation &+= 1
        entries[i].key = key
        entries[i].head = 0
        entries[i].count = 0
        entries[i].pendingError = nil
        entries[i].dropped = 0
        entries[i].arrivals = 0
        if self[binding: key] == nil { self[binding: key] = i }
        return UDPEndpoint(index: Int32(i), generation: entries[i].generation)
    }

    /// Restricts the endpoint to one peer (remote :: disconnects).
    func connect(_ i: Int, remote: IPv6Address, port: UInt16, local: IPv6Address) {
        unlink(i)
        entries[i].key.remoteAddress = remote
        entries[i].key.remotePort = remote.isUnspecified ? 0 : port
        let bound = entries[i].key.localAddress
        if (bound.isUnspecified || bound == Self.anyIPv4) && !remote.isUnspecified { entries[i].key.localAddress = local }
        if self[binding: entries[i].key] == nil { self[binding: entries[i].key] = i }
    }

    /// Takes endpoint `i` out of the lookup; a shared endpoint of the same
    /// key, if any, takes its place.
    private func unlink(_ i: Int) {
        let key = entries[i].key
        guard self[binding: key] == i else { return }
        self[binding: key] = nil
        guard entries[i].shared else { return }
        for j in 0..<allocated where j != i && entries[j].inUse && entries[j].key == key {
            self[binding: key] = j
            return
        }
    }

    /// Calls `body` with every endpoint a multicast datagram to `group`
    /// and `port` from (source, sourcePort) reaches: bound to the port on
    /// :: or the group itself, not connected elsewhere (Linux's
    /// __udp_v6_is_mcast_sock with IPV6_MULTICAST_ALL on, its default).
    func forEachMulticastReceiver(group: IPv6Address, port: UInt16, source: IPv6Address, sourcePort: UInt16, _ body: (Int) -> Void) {
        guard portUsers[port, default: 0] > 0 else { return }
        for i in 0..<allocated where entries[i].inUse && entries[i].key.localPort == port {
            let key = entries[i].key
            guard key.localAddress.isUnspecified || key.localAddress == group else { continue }
            guard key.remoteAddress.isUnspecified || (key.remoteAddress == source && key.remotePort == sourcePort) else { continue }
            body(i)
        }
    }

    func close(_ i: Int) {
        unlink(i)
        drain(i)
        entries[i].inUse = false
        entries[i].generation &+= 1
        let port = entries[i].key.localPort
        if let users = portUsers[port] { portUsers[port] = users > 1 ? users - 1 : nil }
        freeEntries.append(i)
    }

    private func drain(_ i: Int) {
        while let packet = dequeue(i) { packet.free() }
    }

    /// The endpoint an IPv4 datagram to (destination, port) from (source,
    /// port) belongs to (.any destination: a broadcast).
    @inline(__always)
    func find(destination: IPv4Address, destinationPort: UInt16, source: IPv4Address, sourcePort: UInt16) -> Int? {
        if source == .any && sourcePort == 0 {  // the exact key lives in the IPv6 map (IPv4Key.init)
            let exact = Key(localAddress: IPv6Address(ipv4Mapped: destination), localPort: destinationPort,
                            remoteAddress: Self.anyIPv4, remotePort: 0)
            if let i = bindings6[exact] { return i }
        } else if connected4 > 0,
                  let i = bindings4[IPv4Key(local: destination.value, localPort: destinationPort, remote: source.value, remotePort: sourcePort)] {
            return i
        }
        if let i = bindings4[IPv4Key(local: destination.value, localPort: destinationPort, remote: 0, remotePort: 0)] { return i }
        if let i = bindings4[IPv4Key(local: 0, localPort: destinationPort, remote: 0, remotePort: 0)] { return i }
        // A dual-stack wildcard (not v6-only).
        guard !bindings6.isEmpty,
              let i = bindings6[Key(localAddress: .unspecified, localPort: destinationPort, remoteAddress: .unspecified, remotePort: 0)],
              !entries[i].v6Only else { return nil }
        return i
    }

    /// The endpoint an IPv6 datagram belongs to (IPv4-only endpoints never).
    @inline(__always)
    func find(destination: IPv6Address, destinationPort: UInt16, source: IPv6Address, sourcePort: UInt16) -> Int? {
        if let i = bindings6[Key(localAddress: destination, localPort: destinationPort, remoteAddress: source, remotePort: sourcePort)] { return i }
        if let i = bindings6[Key(localAddress: destination, localPort: destinationPort, remoteAddress: .unspecified, remotePort: 0)] { return i }
        if let i = bindings6[Key(localAddress: .unspecified, localPort: destinationPort, remoteAddress: .unspecified, remotePort: 0)] { return i }
        return nil
    }

    /// Queues a datagram; false (not freed) when the queue is full.
    func enqueue(_ i: Int, _ packet: PacketBuffer) -> Bool {
        guard entries[i].count < queueCapacity else {
            entries[i].dropped += 1
            return false
        }
        entries[i].queue[(entries[i].head + entries[i].count) % queueCapacity] = packet
        entries[i].count += 1
        entries[i].arrivals &+= 1
        return true
    }

    func dequeue(_ i: Int) -> PacketBuffer? {
        guard entries[i].count > 0 else { return nil }
        let packet = entries[i].queue[entries[i].head]
        entries[i].head = (entries[i].head + 1) % queueCapacity
        entries[i].count -= 1
        return packet
    }

    func queued(_ i: Int) -> Int { entries[i].count }

    func arrivals(_ i: Int) -> UInt64 { entries[i].arrivals }

    func setError(_ i: Int, _ error: StackError.Kind) { entries[i].pendingError = error }

    func takeError(_ i: Int) -> StackError.Kind? {
        defer { entries[i].pendingError = nil }
        return entries[i].pendingError
    }

    func hasError(_ i: Int) -> Bool { entries[i].pendingError != nil }
}
