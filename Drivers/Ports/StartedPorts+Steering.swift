import NetDevice
import Stack
import Steering

/// Several cores on one started port: the port's queue spread by software
/// RSS, and each core's stack attached to its own steered queue.
extension StartedPorts {
    /// Spreads port `index` over `cores` queues (one per core) with software
    /// RSS; the core of queue 0 must poll for the others to receive.
    public func steer(_ index: Int, over cores: Int, ringSize: Int = 1024) throws(DeviceError) -> SoftwareSteering {
        try SoftwareSteering(device: ports[index].device, queues: cores, pool: pool, ringSize: ringSize)
    }

    /// Adds steered queue `queue` to `stack` as an interface, and tells the
    /// stack how flows find their core (wrong-core counts, outgoing ports).
    public func attach(_ steering: SoftwareSteering, queue: Int, to stack: NetStack,
                       _ configuration: InterfaceConfiguration) throws(StackError) {
        try stack.addInterface(device: steering.queue(queue), configuration: configuration)
        stack.flowSteering = FlowSteering(toeplitz: steering.toeplitz, table: steering.table, queue: queue)
    }
}
