import E1000
import NetDevice
import NullDriver
import Platform
import TapDriver
import VirtioNet

/// An opened port and what the tool needs to know about it.
struct OpenedPort {
    let device: any NetDevice
    /// How its DMA addresses work (pools for it must use this mode).
    let iovaMode: IOVAMode
    /// "e1000 0000:00:10.0 (vfio)".
    let label: String
    /// PCI ports need hugepage memory; host ports take anonymous memory too.
    let isPCI: Bool
}

/// Opens PCI ports by their vendor and device IDs: each driver registers
/// the IDs it serves. Another PCI driver (virtio-net) adds one entry here.
enum PortOpener {
    typealias Opener = (DeviceAccess) throws(DeviceError) -> any NetDevice

    static var drivers: [(name: String, ids: [(vendor: UInt16, device: UInt16)], open: Opener)] { [
        ("e1000", [(E1000PCI.vendorIntel, E1000PCI.device82540EM)], { (access: DeviceAccess) throws(DeviceError) -> any NetDevice in
            try E1000Device(backend: try E1000PCIBackend(access: access))
        }),
        ("virtio-net",
         [(VirtioNetDevice.vendorID, VirtioNetDevice.modernDeviceID), (VirtioNetDevice.vendorID, VirtioNetDevice.transitionalDeviceID)],
         { (access: DeviceAccess) throws(DeviceError) -> any NetDevice in
            try VirtioNetDevice(function: DeviceAccessVirtioFunction(access))
        }),
    ] }

    /// A null port (DPDK's net_null): receive yields copies of `template`,
    /// transmit frees.
    static func openNull(index: Int, template: [UInt8]) throws(DeviceError) -> OpenedPort {
        let device = try NullDevice(name: "null\(index)", template: template)
        return OpenedPort(device: device, iovaMode: .virtual, label: "null null\(index)", isPCI: false)
    }

    /// A tap in the current network namespace (created when missing).
    static func openTap(_ name: String) throws(DeviceError) -> OpenedPort {
        OpenedPort(device: try TapDevice(name: name), iovaMode: .virtual, label: "tap \(name)", isPCI: false)
    }

    static func openPCI(_ text: String) throws(DeviceError) -> OpenedPort {
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
        return OpenedPort(device: device, iovaMode: iovaMode, label: "\(driver.name) \(address) (\(access.kind.rawValue))", isPCI: true)
    }
}

func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
}
