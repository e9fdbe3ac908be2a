import Platform
#if canImport(Glibc)
import Glibc
#endif

/// Why dp-devbind will not bind or unbind a device.
public struct BindRefusal: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Binds network devices to a driver through sysfs `driver_override`, the
/// way the kernel intends (no new_id side effects on other devices).
/// Safety first: refuses outside the lab guest unless told otherwise,
/// always refuses the device carrying the default route, and refuses an
/// active device unless forced.
public struct DriverBinder: Sendable {
    public let view: SystemView
    public let force: Bool
    /// Loads a module; returns true when it loaded (modprobe in real use).
    public let loadModule: @Sendable (String) -> Bool

    public init(view: SystemView, force: Bool, loadModule: @escaping @Sendable (String) -> Bool) {
        self.view = view
        self.force = force
        self.loadModule = loadModule
    }

    /// The dp-lab guest's marker file: bind and unbind run only there
    /// unless the caller says it knows this machine is a test machine.
    public static let labGuestMarker = "/lab/run.conf"

    public static func refuseOutsideLab(allowOutsideLab: Bool, marker: String = labGuestMarker) throws(BindRefusal) {
        guard allowOutsideLab || SystemFiles.exists(marker) else {
            throw BindRefusal(
                "refusing to bind or unbind: this is not the dp-lab guest (\(marker) is absent). PCI devices of the host are never "
                + "rebound; run it in the guest (dp-lab run -- dp-devbind ...) or pass --outside-lab on a disposable test machine")
        }
    }

    /// The checks shared by bind and unbind; returns the device's status.
    public func checkAllowed(_ address: PCIAddress) throws(BindRefusal) -> NetworkDeviceStatus {
        let devices: [NetworkDeviceStatus]
        do { devices = try NetworkDeviceStatus.all(in: view) } catch { throw BindRefusal("cannot list PCI devices: \(error)") }
        guard let device = devices.first(where: { $0.address == address }) else {
            throw BindRefusal("\(address) is not a network-class PCI device here (dp-devbind status lists them)")
        }
        if device.carriesDefaultRoute {
            throw BindRefusal("refusing \(address): its interface \(device.interfaces.joined(separator: ",")) carries the default route (this is how the machine is reached); --force does not override this")
        }
        if device.isActive && !force {
            throw BindRefusal("refusing \(address): its interface \(device.activeInterfaces.joined(separator: ",")) is active (up, addressed or routed); take it down first or pass --force")
        }
        return device
    }

    /// Binds `address` to `driver` (vfio-pci, uio_pci_generic or a kernel driver).
    public func bind(_ address: PCIAddress, to driver: String) throws(BindRefusal) -> String {
        let device = try checkAllowed(address)
        if device.driver == driver { return "\(address) already bound to \(driver)" }
        let driverDirectory = view.pciRoot + "/drivers/" + driver
        if !SystemFiles.exists(driverDirectory) {
            let module = driver.replacingDashes()
            guard loadModule(module), SystemFiles.exists(driverDirectory) else {
                throw BindRefusal("driver \(driver) is not loaded and `modprobe \(module)` did not load it")
            }
        }
        let deviceDirectory = view.pciRoot + "/devices/\(address)"
        do throws(PlatformError) {
            if let current = device.driver {
                try SystemFiles.write(address.description, to: view.pciRoot + "/drivers/\(current)/unbind")
            }
            try SystemFiles.write(driver, to: deviceDirectory + "/driver_override")
            try SystemFiles.write(address.description, to: view.pciRoot + "/drivers_probe")
        } catch {
            throw BindRefusal("binding \(address) to \(driver) failed: \(error)")
        }
        let now = SystemFiles.readLink(deviceDirectory + "/driver").map { String($0.split(separator: "/").last ?? "") }
        guard now == driver else {
            throw BindRefusal("\(address) is bound to \(now ?? "no driver") after binding to \(driver): see dmesg (an IOMMU group may be missing for vfio-pci)")
        }
        return "\(address) bound to \(driver)" + (device.driver.map { " (was \($0))" } ?? "")
    }

    /// Unbinds `address` from its driver and clears its driver override.
    public func unbind(_ address: PCIAddress) throws(BindRefusal) -> String {
        let device = try checkAllowed(address)
        guard let current = device.driver else { return "\(address) is bound to no driver" }
        do throws(PlatformError) {
            try SystemFiles.write(address.description, to: view.pciRoot + "/drivers/\(current)/unbind")
            let override = view.pciRoot + "/devices/\(address)/driver_override"
            if SystemFiles.exists(override) { try SystemFiles.write("\n", to: override) }
        } catch {
            throw BindRefusal("unbinding \(address) from \(current) failed: \(error)")
        }
        return "\(address) unbound from \(current)"
    }
}

extension String {
    func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}
