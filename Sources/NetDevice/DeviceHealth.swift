/// What a driver's health check found (Docs/ROBUSTNESS.md, "Device faults").
public enum DeviceHealth: Sendable, Equatable, CustomStringConvertible {
    /// The device answers; the link as read now.
    case running(LinkStatus)
    /// The device had been reset under the driver (or asked for a reset) and
    /// the driver brought it back: queues re-initialised, frames in flight lost.
    case recovered(String)
    /// The device is gone (hot unplug, surprise removal) or cannot be brought
    /// back: the driver has stopped using it and the port stays down.
    case removed(String)

    public var description: String {
        switch self {
        case .running(let link): "link \(link)"
        case .recovered(let why): "recovered: \(why)"
        case .removed(let why): "removed: \(why)"
        }
    }
}

/// Drivers that can tell a link flap, a device reset and a device removal
/// apart. `checkHealth` is slow path (register and config reads, maybe a
/// re-initialisation): call it every 100 ms or so from the core that polls
/// the device's queues (a recovery rebuilds the rings), never per burst.
public protocol DeviceHealthMonitoring: AnyObject {
    func checkHealth() -> DeviceHealth
}
