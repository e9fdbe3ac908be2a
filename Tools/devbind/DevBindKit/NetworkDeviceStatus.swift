import Platform

/// One network-class PCI device as dp-devbind reports it.
public struct NetworkDeviceStatus: Sendable, Equatable {
    public let address: PCIAddress
    public let vendorID: UInt16
    public let deviceID: UInt16
    public let name: String
    public let driver: String?
    public let interfaces: [String]
    /// Interfaces that are up, have addresses or carry routes.
    public let activeInterfaces: [String]
    /// True when one of its interfaces carries a default route: the device
    /// the machine is reached through. dp-devbind never touches it.
    public let carriesDefaultRoute: Bool

    public var isActive: Bool { !activeInterfaces.isEmpty }

    /// Every network-class PCI device (class 0x02), sorted by address.
    public static func all(in view: SystemView) throws(PlatformError) -> [NetworkDeviceStatus] {
        let routed = view.routedInterfaces()
        let defaults = view.defaultRouteInterfaces()
        return try PCIBus.devices(sysfsRoot: view.pciRoot).filter(\.isNetworkController).map { device in
            let active = device.interfaces.filter {
                view.isUp($0) || !view.addresses(of: $0).isEmpty || routed.contains($0)
            }
            return NetworkDeviceStatus(
                address: device.address, vendorID: device.vendorID, deviceID: device.deviceID, name: device.name,
                driver: device.driver, interfaces: device.interfaces, activeInterfaces: active,
                carriesDefaultRoute: device.interfaces.contains(where: defaults.contains))
        }
    }

    /// One line of `dp-devbind status`.
    public var line: String {
        var text = "\(address) \(hex4(vendorID)):\(hex4(deviceID)) '\(name)' driver=\(driver ?? "none")"
        if !interfaces.isEmpty { text += " if=\(interfaces.joined(separator: ","))" }
        if isActive { text += " *active*" }
        if carriesDefaultRoute { text += " *default-route*" }
        return text
    }
}

func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
}
