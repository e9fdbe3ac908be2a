import NetDevice
import Packets
import Platform
import Stack
import Wire

/// The one way a program brings ports up: open them, make one pool they
/// all receive into (hugepages where a port does DMA, on the ports' NUMA
/// node), configure and start each. What it returns is ready to attach to
/// a `NetStack`.
public enum PortBringUp {
    /// Opens the ports `specs` name (in order) and starts them.
    public static func start(
        _ specs: [PortSpec], pool: PoolRequest, configuration: PortConfiguration? = nil,
        macAddress: MACAddress? = nil
    ) throws -> StartedPorts {
        var opened: [OpenedPort] = []
        for spec in specs { opened.append(try PortOpener.open(spec)) }
        return try start(opened, pool: pool, configuration: configuration, macAddress: macAddress)
    }

    /// Two loopback ports wired to each other, both started on one pool.
    public static func startLoopbackPair(ringSize: Int = 1024, pool: PoolRequest) throws -> StartedPorts {
        let (first, second) = try PortOpener.openLoopbackPair(ringSize: ringSize)
        return try start([first, second], pool: pool)
    }

    /// Starts ports already opened: makes the pool, gives each port
    /// `macAddress` (when set and not already its address), configures it
    /// with `configuration` (default: the driver's) receiving into the
    /// pool, and starts it.
    public static func start(
        _ opened: [OpenedPort], pool request: PoolRequest, configuration: PortConfiguration? = nil,
        macAddress: MACAddress? = nil
    ) throws -> StartedPorts {
        let pool = try opened.makePool(
            name: request.name, capacity: request.capacity, cacheSize: request.cacheSize, policy: request.policy)
        var portConfiguration = configuration ?? PortConfiguration(receivePools: [pool])
        portConfiguration.receivePools = [pool]
        for port in opened {
            if let macAddress, port.device.macAddress != macAddress { try port.device.setMACAddress(macAddress) }
            var portConfiguration = portConfiguration
            if configuration == nil { portConfiguration.transmitOffloads = stackTransmitOffloads(port.device.info) }
            // The default takes every receive offload the device has (checks
            // the stack then skips, coalesced frames).
            if configuration == nil { portConfiguration.receiveOffloads = port.device.info.receiveOffloads }
            try port.device.configure(portConfiguration)
            try port.device.start()
        }
        return StartedPorts(ports: opened, pool: pool)
    }

    /// The transmit offloads the stack uses where the port offers them:
    /// TCP and UDP checksums and TCP segmentation (Docs/TCP.md, offloads).
    public static func stackTransmitOffloads(_ info: DeviceInfo) -> OffloadFlags {
        info.transmitOffloads.intersection([.txIPv4, .txIPv6, .txTCPChecksum, .txUDPChecksum, .txTCPSegmentation,
                                            .txTCPSegmentationIPv6])
    }
}
