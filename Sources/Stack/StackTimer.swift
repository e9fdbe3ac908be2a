/// What a timer of the stack does when it fires.
enum StackTimer {
    /// Retry (or give up on) resolving ARP entry `entry`.
    case arpRetry(entry: Int32, generation: UInt32)
    /// Drop reassemblies whose time is up.
    case reassemblySweep
    /// Retry (or give up on) resolving NDP entry `entry`.
    case ndpRetry(entry: Int32, generation: UInt32)
    /// Duplicate address detection of the interface's tentative addresses is over.
    case dadComplete(interface: Int32)
    /// MLD reports owed by the interface (state changes, query answers).
    case mldReport(interface: Int32)
}
