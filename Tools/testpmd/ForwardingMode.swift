import ArgumentParser

/// What the forwarding cores do with packets (DPDK testpmd's modes).
enum ForwardingMode: String, CaseIterable, ExpressibleByArgument {
    /// Receive on a port, send unchanged on its peer port.
    case io
    /// As io, with source and destination MAC swapped.
    case macswap
    /// Receive and free.
    case rxonly
    /// Generate UDP/IPv4 frames and send them.
    case txonly
}
