import CPacketSocket
import CPlatform
import Glibc

/// An AF_PACKET socket bound to one interface: reads every frame the
/// interface receives (never the ones it sends) and sends frames out of it.
final class PacketSocket {
    let interface: String
    let descriptor: Int32
    /// The interface's MTU: the longest frame it carries is this + 14.
    let mtu: Int

    init(interface: String, receiveBuffer: Int) throws(RelayError) {
        self.interface = interface
        let index = dp_packet_interface_index(interface)
        guard index != 0 else {
            throw RelayError("interface '\(interface)' does not exist in this network namespace (see `ip link`)")
        }
        let fd = dp_packet_socket_open(index, Int32(clamping: receiveBuffer))
        guard fd >= 0 else {
            let hint = -fd == EPERM ? " (AF_PACKET sockets need CAP_NET_RAW: run as root)" : ""
            throw RelayError("interface '\(interface)': opening an AF_PACKET socket failed: \(String(cString: strerror(-fd)))\(hint)")
        }
        descriptor = fd
        let reported = Int(dp_interface_mtu(interface))
        mtu = reported > 0 ? reported : 1500
    }

    deinit { close(descriptor) }

    /// The frame's full length (may exceed `buffer.count`: cut short), 0 for
    /// an outgoing frame to ignore, or -errno (-EAGAIN: nothing waiting).
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        dp_packet_receive(descriptor, buffer.baseAddress, buffer.count)
    }

    func send(_ frame: UnsafeRawBufferPointer) -> Bool {
        dp_packet_send(descriptor, frame.baseAddress, frame.count) == frame.count
    }

    /// Frames the kernel dropped for a full receive buffer since the last call.
    func kernelDrops() -> UInt64 {
        let drops = dp_packet_kernel_drops(descriptor)
        return drops > 0 ? UInt64(drops) : 0
    }
}
