import NetDevice
import Packets
import Wire

/// One interface of a stack: a device queue with an address. Frames to
/// send are batched here and handed to the device in bursts.
final class NetInterface {
    let index: Int
    let device: any NetDevice
    let queue: Int
    let configuration: InterfaceConfiguration
    let macAddress: MACAddress
    let mtu: Int
    var address: IPv4Address { configuration.address.address }
    let network: IPv4Network
    let directedBroadcast: IPv4Address
    /// What the device fills in or cuts for the stack (checksums, TSO),
    /// read once at attach: the port is configured by then.
    let transmitOffloads: OffloadFlags
    /// Frames waiting for the next transmit burst: first the `heldCount`
    /// the device's full ring refused earlier (the transmit backlog, sent
    /// first to keep their order), then new ones. Room for a burst plus
    /// `StackLimits.transmitBacklog`.
    let batch: UnsafeMutableBufferPointer<PacketBuffer>
    var batchCount = 0
    var heldCount = 0
    /// New frames that make a burst: handed to the device at once.
    let burstSize: Int
    /// Refused frames kept at most (0: dropped at once).
    let backlogLimit: Int
    /// IPv6 addresses, router and path MTUs (nil: IPv6 off on this interface).
    let ipv6: IPv6InterfaceState?

    init(index: Int, device: any NetDevice, queue: Int, configuration: InterfaceConfiguration, burstSize: Int,
         transmitBacklog: Int) throws(StackError) {
        let deviceMTU = device.info.mtu
        let mtu = configuration.mtu ?? deviceMTU
        guard mtu >= 68, mtu <= deviceMTU else {
            throw StackError(.invalidConfiguration, "interface MTU \(mtu): must be 68...\(deviceMTU) (the device's MTU)")
        }
        guard !configuration.address.address.isUnspecified, !configuration.address.address.isMulticast,
              !configuration.address.address.isBroadcast else {
            throw StackError(.invalidConfiguration, "interface address \(configuration.address): must be a unicast address")
        }
        if let gateway = configuration.gateway, !configuration.address.contains(gateway) {
            throw StackError(.invalidConfiguration, "gateway \(gateway) is not in \(configuration.address): give a gateway on the interface's subnet")
        }
        self.index = index
        self.device = device
        self.queue = queue
        self.configuration = configuration
        self.macAddress = device.macAddress
        self.mtu = mtu
        network = configuration.address
        directedBroadcast = configuration.address.prefixLength >= 31 ? .broadcast : configuration.address.broadcastAddress
        transmitOffloads = device.transmitOffloadsInUse
        self.burstSize = max(burstSize, 1)
        backlogLimit = max(transmitBacklog, 0)
        batch = .allocate(capacity: self.burstSize + backlogLimit)
        if let v6 = configuration.ipv6 {
            guard mtu >= IPv6Packet.minimumMTU else {
                throw StackError(.invalidConfiguration, "interface MTU \(mtu): IPv6 needs at least \(IPv6Packet.minimumMTU) (RFC 8200 §5)")
            }
            ipv6 = try IPv6InterfaceState(configuration: v6, macAddress: device.macAddress, mtu: mtu)
        } else {
            ipv6 = nil
        }
    }

    func releaseBatch() {
        PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: batch[0..<batchCount]))
        batchCount = 0
        heldCount = 0
    }

    deinit {
        releaseBatch()
        batch.deallocate()
    }

    /// True for the addresses this interface takes as its own or broadcast.
    @inline(__always)
    func accepts(_ destination: IPv4Address) -> Bool {
        destination == address || destination.isBroadcast || destination == directedBroadcast
    }
}
