import Packets
import LinkAddress

/// The poll-mode driver contract (DPDK's ethdev): the whole interface
/// between a driver and everything above it. The stack and the tools never
/// see device specifics.
///
/// Life cycle: `configure` once, `start`, then `receive` / `transmit`
/// bursts from the core that owns each queue, `stop`. A queue is used by
/// one core only, so the burst calls take no locks.
public protocol NetDevice: AnyObject {
    /// Static facts about the port: driver, name, limits, offloads.
    var info: DeviceInfo { get }
    /// The station address in use.
    var macAddress: MACAddress { get }

    /// Sets queue counts, ring sizes, the pools receive buffers come from and
    /// the offloads to use. Throws when the device cannot do what is asked.
    func configure(_ configuration: PortConfiguration) throws(DeviceError)
    func start() throws(DeviceError)
    /// Stops traffic and leaves the device quiet; buffers the device held are
    /// returned to their pools.
    func stop()

    /// Moves up to `packets.count` received packets into `packets`; returns
    /// how many. The caller owns them.
    func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int
    /// Hands up to `packets.count` packets to the device; returns how many
    /// it took (a prefix). Those are the driver's now; the rest stay the
    /// caller's (to retry or free).
    func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int

    /// The link as last read from the device.
    func linkStatus() -> LinkStatus
    /// Counters since start or the last reset, hardware ones folded in.
    func statistics() -> PortStatistics
    func resetStatistics()

    func setPromiscuous(_ enabled: Bool) throws(DeviceError)
    func setAllMulticast(_ enabled: Bool) throws(DeviceError)
    func setMACAddress(_ address: MACAddress) throws(DeviceError)

    /// The transmit offloads the port honours now: what `configure` asked
    /// for and the device took. The stack requests only these per packet.
    var transmitOffloadsInUse: OffloadFlags { get }
}

extension NetDevice {
    /// Drivers without transmit offloads honour none.
    public var transmitOffloadsInUse: OffloadFlags { [] }
}

/// What a port is and what it can do.
public struct DeviceInfo: Sendable, Equatable {
    /// "e1000", "virtio-net", "tap", "loopback", "null".
    public var driverName: String
    /// PCI address, tap name, ...
    public var deviceName: String
    public var maximumReceiveQueues: Int
    public var maximumTransmitQueues: Int
    /// Descriptor ring size limits; sizes must be multiples of `ringSizeAlignment`.
    public var ringSizes: ClosedRange<Int>
    public var ringSizeAlignment: Int
    /// Largest frame (without CRC) the port accepts and sends.
    public var maximumFrameLength: Int
    public var mtu: Int
    public var receiveOffloads: OffloadFlags
    public var transmitOffloads: OffloadFlags
    /// Features the device offered but the driver did not take, and why
    /// ("VIRTIO_NET_F_MQ: device offers 1 queue pair"), for `dp-testpmd --info`.
    public var notes: [String]
    /// The device spreads received flows over its queues by an RSS hash
    /// and redirection table the driver sets (`PortConfiguration.receiveSideScaling`).
    public var offersReceiveSideScaling: Bool = false

    public init(
        driverName: String, deviceName: String, maximumReceiveQueues: Int = 1, maximumTransmitQueues: Int = 1,
        ringSizes: ClosedRange<Int> = 1...4096, ringSizeAlignment: Int = 1, maximumFrameLength: Int = 1514,
        mtu: Int = 1500, receiveOffloads: OffloadFlags = [], transmitOffloads: OffloadFlags = [], notes: [String] = []
    ) {
        self.driverName = driverName
        self.deviceName = deviceName
        self.maximumReceiveQueues = maximumReceiveQueues
        self.maximumTransmitQueues = maximumTransmitQueues
        self.ringSizes = ringSizes
        self.ringSizeAlignment = ringSizeAlignment
        self.maximumFrameLength = maximumFrameLength
        self.mtu = mtu
        self.receiveOffloads = receiveOffloads
        self.transmitOffloads = transmitOffloads
        self.notes = notes
    }
}

/// How a port is to be set up.
public struct PortConfiguration {
    public var receiveQueues: Int
    public var transmitQueues: Int
    public var receiveRingSize: Int
    public var transmitRingSize: Int
    /// Receive buffers for queue i come from `receivePools[i % count]`.
    public var receivePools: [PacketPool]
    /// Pools whose buffers this port will transmit besides the receive
    /// pools (a generator's, another port's): PCI drivers map them for DMA.
    public var transmitPools: [PacketPool]
    /// Offloads to turn on (a subset of `DeviceInfo`'s).
    public var receiveOffloads: OffloadFlags
    public var transmitOffloads: OffloadFlags
    public var promiscuous: Bool
    /// The RSS key and redirection table over the receive queues (nil: the
    /// device's own choice of queue, or one queue).
    public var receiveSideScaling: RSSSettings?

    public init(
        receiveQueues: Int = 1, transmitQueues: Int = 1, receiveRingSize: Int = 256, transmitRingSize: Int = 256,
        receivePools: [PacketPool], transmitPools: [PacketPool] = [], receiveOffloads: OffloadFlags = [], transmitOffloads: OffloadFlags = [],
        promiscuous: Bool = false
    ) {
        self.receiveQueues = receiveQueues
        self.transmitQueues = transmitQueues
        self.receiveRingSize = receiveRingSize
        self.transmitRingSize = transmitRingSize
        self.receivePools = receivePools
        self.transmitPools = transmitPools
        self.receiveOffloads = receiveOffloads
        self.transmitOffloads = transmitOffloads
        self.promiscuous = promiscuous
    }

    /// Checks the configuration against what the device offers; drivers call
    /// this first in `configure`.
    public func validate(against info: DeviceInfo) throws(DeviceError) {
        guard (1...info.maximumReceiveQueues).contains(receiveQueues) else {
            throw DeviceError(.invalidConfiguration, "\(receiveQueues) receive queues: \(info.driverName) offers 1...\(info.maximumReceiveQueues)")
        }
        guard (1...info.maximumTransmitQueues).contains(transmitQueues) else {
            throw DeviceError(.invalidConfiguration, "\(transmitQueues) transmit queues: \(info.driverName) offers 1...\(info.maximumTransmitQueues)")
        }
        for (what, size) in [("receive", receiveRingSize), ("transmit", transmitRingSize)] {
            guard info.ringSizes.contains(size), size % info.ringSizeAlignment == 0 else {
                throw DeviceError(.invalidConfiguration, "\(what) ring size \(size): \(info.driverName) takes \(info.ringSizes.lowerBound)...\(info.ringSizes.upperBound) in multiples of \(info.ringSizeAlignment)")
            }
        }
        if let receiveSideScaling {
            guard info.offersReceiveSideScaling else {
                throw DeviceError(.unsupported, "\(info.driverName) does not offer receive-side scaling: spread its queue over cores in software (SoftwareSteering)")
            }
            guard receiveSideScaling.table.queueCount == receiveQueues else {
                throw DeviceError(.invalidConfiguration, "the RSS table spreads over \(receiveSideScaling.table.queueCount) queues, the port has \(receiveQueues)")
            }
        }
        guard !receivePools.isEmpty else {
            throw DeviceError(.invalidConfiguration, "no receive pool given")
        }
        let unsupported = transmitOffloads.subtracting(info.transmitOffloads)
        guard unsupported.isEmpty else {
            throw DeviceError(.unsupported, "transmit offloads 0x\(String(unsupported.rawValue, radix: 16)) not offered by \(info.driverName)")
        }
    }
}

/// Link state.
public struct LinkStatus: Sendable, Equatable, CustomStringConvertible {
    public var isUp: Bool
    /// Megabits per second, 0 when unknown.
    public var speedMbps: Int
    public var fullDuplex: Bool

    public init(isUp: Bool, speedMbps: Int = 0, fullDuplex: Bool = true) {
        self.isUp = isUp
        self.speedMbps = speedMbps
        self.fullDuplex = fullDuplex
    }

    public var description: String {
        isUp ? "up \(speedMbps) Mbps \(fullDuplex ? "full" : "half")-duplex" : "down"
    }
}

/// An error from a driver. `description` names the cause.
public struct DeviceError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case invalidConfiguration
        case unsupported
        case notFound
        case accessFailed
        case deviceFailed
        case timedOut
        case wrongState
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
