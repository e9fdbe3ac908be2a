import E1000
import LoopbackDriver
import NetDevice
import NullDriver
import Platform
import TapDriver
import VirtioNet
import Wire

/// Opens ports for tools and runtimes: PCI devices by their vendor and
/// device IDs (each driver registers the IDs it serves), and the host
/// drivers (tap, null, loopback) by name.
public enum PortOpener {
    public typealias Opener = (DeviceAccess) throws(DeviceError) -> any NetDevice

    public static var drivers: [(name: String, ids: [(vendor: UInt16, device: UInt16)], open: Opener)] { [
        ("e1000", [(E1000PCI.vendorIntel, E1000PCI.device82540EM)], { (access: DeviceAccess) throws(DeviceError) -> any NetDevice in
            try E1000Device(backend: try E1000PCIBackend(access: access))
        }),
        ("virtio-net",
         [(VirtioNetDevice.vendorID, VirtioNetDevice.modernDeviceID), (VirtioNetDevice.vendorID, VirtioNetDevice.transitionalDeviceID)],
         { (access: DeviceAccess) throws(DeviceError) -> any NetDevice in
            try VirtioNetDevice(function: DeviceAccessVirtioFunction(access))
        }),
    ] }

    /// Opens what `spec` names.
    public static func open(_ spec: PortSpec, nullTemplate: [UInt8] = PortOpener.defaultNullTemplate) throws(DeviceError) -> OpenedPort {
        switch spec {
        case .pci(let address): return try openPCI(address)
        case .tap(let name, let mac): return try openTap(name, macAddress: mac)
        case .null(let index): return try openNull(index: index, template: nullTemplate)
        }
    }

    /// A 60-byte broadcast frame of an unused EtherType, for null ports
    /// whose contents nobody reads.
    public static let defaultNullTemplate: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x0e, 0x88, 0xb5]
        + [UInt8](repeating: 0, count: 46)

    /// A null port (DPDK's net_null): receive yields copies of `template`,
    /// transmit frees.
    public static func openNull(index: Int, template: [UInt8]) throws(DeviceError) -> OpenedPort {
        let device = try NullDevice(name: "null\(index)", template: template)
        return OpenedPort(device: device, iovaMode: .virtual, label: "null null\(index)", isPCI: false)
    }

    /// A tap in the current network namespace (created when missing).
    public static func openTap(_ name: String, macAddress: MACAddress? = nil) throws(DeviceError) -> OpenedPort {
        OpenedPort(device: try TapDevice(name: name, macAddress: macAddress), iovaMode: .virtual, label: "tap \(name)", isPCI: false)
    }

    /// Two loopback ports wired to each other: what one transmits the other
    /// receives.
    public static func openLoopbackPair(ringSize: Int = 1024) throws(DeviceError) -> (OpenedPort, OpenedPort) {
        let pair = try LoopbackPair(ringSize: ringSize)
        return (OpenedPort(device: pair.first, iovaMode: .virtual, label: "loopback 0", isPCI: false),
                OpenedPort(device: pair.second, iovaMode: .virtual, label: "loopback 1", isPCI: false))
    }

    public static func openPCI(_ text: String) throws(DeviceError) -> OpenedPort {
        guard let address = PCIAddress(text) else {
            throw DeviceError(.invalidConfiguration, "'\(text)' is not a PCI address (DOMAIN:BUS:DEVICE.FUNCTION, e.g. 0000:00:10.0)")
        }
        let access: PCIDeviceAccess
        do {
            access = try PCIDeviceAccess(address: address)
        } catch {
            throw DeviceError(.notFound, "\(address): \(error)")
        }
        guard let driver = drivers.first(where: { driver in
            driver.ids.contains { $0.vendor == access.vendorID && $0.device == access.deviceID }
        }) else {
            let known = drivers.map { driver in driver.name + " " + driver.ids.map { "\(hex4($0.vendor)):\(hex4($0.device))" }.joined(separator: ",") }
            access.close()
            throw DeviceError(.unsupported,
                "\(address) is \(hex4(access.vendorID)):\(hex4(access.deviceID)): no driver for it (drivers: \(known.joined(separator: "; ")))")
        }
        let device = try driver.open(access)
        // A legacy virtio device behind VFIO bypasses the IOMMU: IOVA = PA.
        let iovaMode = (device as? VirtioNetDevice)?.requiredIOVAMode ?? access.defaultIOVAMode
        return OpenedPort(device: device, iovaMode: iovaMode, label: "\(driver.name) \(address) (\(access.kind.rawValue))", isPCI: true,
                          numaNode: access.numaNode)
    }
}

func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
}
