import CPlatform
import Glibc
import NetDevice
import Packets
import Wire

/// A Linux tap device as a port: frames the kernel sends out of the tap are
/// received here, frames transmitted here enter the kernel through the tap.
/// The kernel side (addresses, routes) belongs to whoever made the tap.
///
/// One receive and one transmit queue. Every frame is one read(2) or
/// writev(2), so this port is for tests and host tools, not for speed; a
/// burst is bounded by the burst size and stops at the first EAGAIN.
public final class TapDevice: NetDevice {
    public let name: String
    public private(set) var info: DeviceInfo
    public private(set) var macAddress: MACAddress

    private var fileDescriptor: Int32 = -1
    private var pool: PacketPool?
    private var started = false
    /// A receive buffer kept across bursts so an empty poll allocates nothing.
    private var spare: PacketBuffer?
    private let vectors: UnsafeMutablePointer<iovec>
    private var counters = PortStatistics()

    /// Attaches to the tap `name` in the current network namespace, creating
    /// it when it does not exist. `macAddress` is the station address of the
    /// port (the stack's, not the kernel side's); nil picks a random locally
    /// administered one.
    public init(name: String, macAddress: MACAddress? = nil) throws(DeviceError) {
        guard !name.isEmpty, name.utf8.count < 16 else {
            throw DeviceError(.invalidConfiguration, "tap name '\(name)': must be 1...15 bytes")
        }
        var actual = [CChar](repeating: 0, count: 16)
        let fd = dp_tap_open(name, &actual)
        guard fd >= 0 else {
            let reason = String(cString: strerror(-fd))
            let hint = -fd == EPERM ? " (creating a tap needs CAP_NET_ADMIN: run as root)" : ""
            throw DeviceError(.accessFailed, "tap '\(name)': TUNSETIFF on /dev/net/tun failed: \(reason)\(hint)")
        }
        fileDescriptor = fd
        self.name = String(decoding: actual.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.macAddress = macAddress ?? Self.randomLocalAddress()
        let kernelMTU = Int(dp_interface_mtu(self.name))
        let mtu = kernelMTU > 0 ? kernelMTU : 1500
        info = DeviceInfo(
            driverName: "tap", deviceName: self.name, ringSizes: 1...4096,
            maximumFrameLength: mtu + 14, mtu: mtu)
        vectors = .allocate(capacity: PacketBuffer.maximumSegments)
    }

    deinit {
        stop()
        if fileDescriptor >= 0 { _ = dp_fd_close(fileDescriptor) }
        vectors.deallocate()
    }

    static func randomLocalAddress() -> MACAddress {
        var generator = SystemRandomNumberGenerator()
        let r = generator.next() as UInt64
        return MACAddress(0x02, 0x64, UInt8(truncatingIfNeeded: r), UInt8(truncatingIfNeeded: r >> 8),
                          UInt8(truncatingIfNeeded: r >> 16), UInt8(truncatingIfNeeded: r >> 24))
    }

    public func configure(_ configuration: PortConfiguration) throws(DeviceError) {
        try configuration.validate(against: info)
        let pool = configuration.receivePools[0]
        guard pool.dataRoomSize >= info.maximumFrameLength else {
            throw DeviceError(.invalidConfiguration, "tap '\(name)': pool '\(pool.name)' data room \(pool.dataRoomSize) is smaller than a frame of \(info.maximumFrameLength) bytes (MTU \(info.mtu)): use a larger data room or lower the tap's MTU")
        }
        self.pool = pool
    }

    /// Sets the tap up on the kernel side (IFF_UP) so frames flow.
    public func start() throws(DeviceError) {
        guard pool != nil else { throw DeviceError(.wrongState, "tap '\(name)': configure before start") }
        let result = dp_interface_set_up(name)
        guard result == 0 else {
            throw DeviceError(.accessFailed, "tap '\(name)': setting the link up failed: \(String(cString: strerror(-result)))")
        }
        started = true
    }

    public func stop() {
        started = false
        spare?.free()
        spare = nil
    }

    public func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard started, queue == 0, let pool else { return 0 }
        var count = 0
        while count < packets.count {
            guard let buffer = spare ?? pool.allocate() else {
                counters.receiveNoBuffer += 1
                break
            }
            spare = nil
            let room = buffer.tailroom
            let n = dp_read_nonblocking(fileDescriptor, buffer.data, room)
            if n <= 0 {
                spare = buffer
                if n < 0 && n != -Int(EAGAIN) && n != -Int(EINTR) { counters.receiveErrors += 1 }
                break
            }
            if n >= room {
                // The frame filled the buffer: it may be cut short, so drop it.
                counters.receiveErrors += 1
                spare = buffer
                continue
            }
            buffer.length = n
            buffer.port = 0
            packets[count] = buffer
            count += 1
            counters.receivedPackets += 1
            counters.receivedBytes += UInt64(n)
        }
        return count
    }

    public func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard started, queue == 0 else { return 0 }
        var sent = 0
        while sent < packets.count {
            let packet = packets[sent]
            var segments = 0
            var segment: PacketBuffer? = packet
            while let current = segment, segments < PacketBuffer.maximumSegments {
                vectors[segments] = iovec(iov_base: current.data, iov_len: current.length)
                segments += 1
                segment = current.nextSegment
            }
            let n = dp_writev_nonblocking(fileDescriptor, vectors, Int32(segments))
            if n == -Int(EAGAIN) || n == -Int(EINTR) { break }
            if n < 0 {
                // The kernel refused this frame (too long, link down): it is
                // taken and counted, not retried forever.
                counters.transmitErrors += 1
            } else {
                counters.transmittedPackets += 1
                counters.transmittedBytes += UInt64(n)
            }
            packet.free()
            sent += 1
        }
        return sent
    }

    public func linkStatus() -> LinkStatus { LinkStatus(isUp: started, speedMbps: 10_000) }
    public func statistics() -> PortStatistics { counters }
    public func resetStatistics() { counters = PortStatistics() }
    /// A tap delivers every frame the kernel sends to it.
    public func setPromiscuous(_ enabled: Bool) throws(DeviceError) {}
    public func setAllMulticast(_ enabled: Bool) throws(DeviceError) {}
    public func setMACAddress(_ address: MACAddress) throws(DeviceError) {
        guard address.isValidUnicast else {
            throw DeviceError(.invalidConfiguration, "MAC address \(address) is not a valid unicast address")
        }
        macAddress = address
    }
}

/// The tap's descriptor is its interrupt: readable while a frame waits
/// (level-triggered), so arming and acknowledging are nothing.
extension TapDevice: ReceiveInterrupts {
    public func receiveInterruptDescriptor(queue: Int) -> Int32? {
        queue == 0 && fileDescriptor >= 0 ? fileDescriptor : nil
    }

    public func enableReceiveInterrupt(queue: Int) {}
    public func disableReceiveInterrupt(queue: Int) {}
}
