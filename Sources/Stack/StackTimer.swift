/// What a timer of the stack does when it fires.
enum StackTimer {
    /// Retry (or give up on) resolving ARP entry `entry`.
    case arpRetry(entry: Int32, generation: UInt32)
    /// Drop reassemblies whose time is up.
    case reassemblySweep
}
