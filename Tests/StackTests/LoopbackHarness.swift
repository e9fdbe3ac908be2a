import NetDevice
import Packets
import Ports
import Stack
import Wire

/// Two stacks in one process over a LoopbackPair: A is 10.0.0.1/24 on the
/// first port, B is 10.0.0.2/24 on the second.
final class TwoStacks {
    static let addressA = IPv4Address(10, 0, 0, 1)
    static let addressB = IPv4Address(10, 0, 0, 2)
    let pool: PacketPool
    /// The loopback pair: A's port first, B's second.
    let ports: StartedPorts
    let a: NetStack
    let b: NetStack

    init(limits: StackLimits = StackLimits(), mtu: Int? = nil, poolSize: Int = 2048) throws {
        ports = try PortBringUp.startLoopbackPair(
            ringSize: 1024, pool: PoolRequest(name: "stack-test", capacity: poolSize, cacheSize: 0, policy: .anonymous))
        pool = ports.pool
        a = NetStack(pool: pool, limits: limits)
        b = NetStack(pool: pool, limits: limits)
        try ports.attach(0, to: a, InterfaceConfiguration(
            address: IPv4Network(address: Self.addressA, prefixLength: 24)!, mtu: mtu, announceOnStart: false))
        try ports.attach(1, to: b, InterfaceConfiguration(
            address: IPv4Network(address: Self.addressB, prefixLength: 24)!, mtu: mtu, announceOnStart: false))
        a.start()
        b.start()
    }

    /// Polls both stacks `rounds` times.
    func pump(_ rounds: Int = 8) {
        for _ in 0..<rounds {
            a.poll()
            b.poll()
        }
    }

    /// Polls until `condition` holds or `seconds` pass.
    func pump(until condition: () -> Bool, seconds: Double = 2) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            pump(1)
            if condition() { return true }
        }
        return condition()
    }
}

/// A stack on the first port and the test itself on the second, sending
/// hand-made frames (for malformed input) and reading what the stack sends.
final class StackAndWire {
    static let stackAddress = IPv4Address(10, 0, 0, 1)
    static let peerAddress = IPv4Address(10, 0, 0, 2)
    let pool: PacketPool
    /// The loopback pair: the stack's port first, the test's second.
    let ports: StartedPorts
    let stack: NetStack
    /// The test's end of the pair.
    var peer: any NetDevice { ports[1].device }
    var peerMAC: MACAddress { peer.macAddress }
    var stackMAC: MACAddress { ports[0].device.macAddress }

    init(limits: StackLimits = StackLimits()) throws {
        ports = try PortBringUp.startLoopbackPair(
            ringSize: 512, pool: PoolRequest(name: "wire-test", capacity: 1024, cacheSize: 0, policy: .anonymous))
        pool = ports.pool
        stack = NetStack(pool: pool, limits: limits)
        try ports.attach(0, to: stack, InterfaceConfiguration(
            address: IPv4Network(address: Self.stackAddress, prefixLength: 24)!, announceOnStart: false))
        stack.start()
    }

    /// Sends a frame to the stack and lets it run.
    func inject(_ frame: [UInt8]) {
        let packet = pool.allocate()!
        packet.setContents(frame)
        var burst = [packet]
        let n = burst.withUnsafeMutableBufferPointer { peer.transmit(queue: 0, $0) }
        if n == 0 { packet.free() }
        stack.poll()
        stack.poll()
    }

    /// Frames the stack sent since the last call.
    func sent() -> [[UInt8]] {
        stack.poll()
        var result = [[UInt8]]()
        var slots = [PacketBuffer](repeating: PacketBuffer(header: .init(bitPattern: 8)!), count: 64)
        while true {
            let n = slots.withUnsafeMutableBufferPointer { peer.receive(queue: 0, into: $0) }
            if n == 0 { break }
            for packet in slots[..<n] {
                result.append(packet.contents())
                packet.free()
            }
        }
        return result
    }

    /// An Ethernet + IPv4 frame from the peer to the stack, built with Wire.
    func ipv4Frame(protocol: IPProtocol, payload: [UInt8], identification: UInt16 = 1, moreFragments: Bool = false,
                   fragmentOffset: Int = 0, source: IPv4Address = peerAddress, destination: IPv4Address = stackAddress,
                   ttl: UInt8 = 64, mutate: (IPv4Packet) -> Void = { _ in }) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 14 + 20 + payload.count)
        frame.withUnsafeMutableBytes { bytes in
            EthernetRepr(destination: stackMAC, source: peerMAC, etherType: .ipv4)
                .emit(into: EthernetFrame(unchecked: bytes))
            let ip = IPv4Packet(unchecked: UnsafeMutableRawBufferPointer(rebasing: bytes[14...]))
            IPv4Repr(source: source, destination: destination, protocol: `protocol`, payloadLength: payload.count,
                     timeToLive: ttl, identification: identification, moreFragments: moreFragments,
                     fragmentOffset: fragmentOffset).emit(into: ip)
            for (i, byte) in payload.enumerated() { bytes[34 + i] = byte }
            mutate(ip)
        }
        return frame
    }

    /// An ICMP echo request message (header + data), checksummed.
    static func echoRequest(dataLength: Int, sequence: UInt16 = 1) -> [UInt8] {
        var message = [UInt8](repeating: 0, count: 8 + dataLength)
        for i in 0..<dataLength { message[8 + i] = UInt8(truncatingIfNeeded: i * 7) }
        message.withUnsafeMutableBytes { bytes in
            ICMPv4Repr.echoRequest(identifier: 0x77, sequenceNumber: sequence, payloadLength: dataLength)
                .emit(into: ICMPv4Message(unchecked: bytes))
        }
        return message
    }

    /// Teaches the stack the peer's MAC (so replies need no ARP).
    func introducePeer() {
        var frame = [UInt8](repeating: 0, count: 60)
        frame.withUnsafeMutableBytes { bytes in
            EthernetRepr(destination: .broadcast, source: peerMAC, etherType: .arp).emit(into: EthernetFrame(unchecked: bytes))
            ARPRepr(operation: .request, senderHardwareAddress: peerMAC, senderProtocolAddress: Self.peerAddress,
                    targetHardwareAddress: .zero, targetProtocolAddress: Self.stackAddress)
                .emit(into: ARPPacket(unchecked: UnsafeMutableRawBufferPointer(rebasing: bytes[14...])))
        }
        inject(frame)
        _ = sent()
    }
}
