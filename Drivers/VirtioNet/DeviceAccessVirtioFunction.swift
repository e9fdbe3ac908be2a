import NetDevice
import Platform

/// A BAR reached through Platform's device access is a register region.
extension DeviceRegisters: VirtioRegisters {}

/// The virtio driver's view of a PCI function opened through VFIO or UIO
/// (`PCIDeviceAccess`): `VirtioNetDevice(function: DeviceAccessVirtioFunction(access))`.
public final class DeviceAccessVirtioFunction: VirtioPCIFunction {
    public let access: any DeviceAccess
    private var barRegisters: [Int: DeviceRegisters] = [:]

    public init(_ access: any DeviceAccess) {
        self.access = access
    }

    /// Opens the function at `address` through whichever of vfio-pci and
    /// uio_pci_generic it is bound to.
    public convenience init(address: PCIAddress) throws(DeviceError) {
        do {
            self.init(try PCIDeviceAccess(address: address))
        } catch {
            throw DeviceError(.accessFailed, "\(error)")
        }
    }

    public var name: String { access.address.description }
    public var vendorID: UInt16 { access.vendorID }
    public var deviceID: UInt16 { access.deviceID }
    public var isBehindIOMMU: Bool { access.kind == .vfio }

    public func bar(_ index: Int) -> (size: Int, isIOSpace: Bool)? {
        guard let bar = access.bars.first(where: { $0.index == index }) else { return nil }
        return (Int(bar.size), bar.kind == .io)
    }

    public func registers(bar index: Int) throws(DeviceError) -> any VirtioRegisters {
        if let registers = barRegisters[index] { return registers }
        do {
            let registers = try access.bar(index)
            barRegisters[index] = registers
            return registers
        } catch {
            throw DeviceError(.accessFailed, "\(name) BAR\(index): \(error)")
        }
    }

    public func readConfig8(_ offset: Int) throws(DeviceError) -> UInt8 {
        do { return try access.readConfig8(offset) } catch { throw Self.configError(offset, error) }
    }

    public func readConfig16(_ offset: Int) throws(DeviceError) -> UInt16 {
        do { return try access.readConfig16(offset) } catch { throw Self.configError(offset, error) }
    }

    public func readConfig32(_ offset: Int) throws(DeviceError) -> UInt32 {
        do { return try access.readConfig32(offset) } catch { throw Self.configError(offset, error) }
    }

    private static func configError(_ offset: Int, _ error: PlatformError) -> DeviceError {
        DeviceError(.accessFailed, "config space read at 0x\(String(offset, radix: 16)): \(error)")
    }

    public func dmaMemory(size: Int, iovaMode: IOVAMode?) throws(DeviceError) -> DMAMemory {
        do { return try access.dmaMemory(size: size, iovaMode: iovaMode) } catch {
            throw DeviceError(.accessFailed, "DMA memory of \(size) bytes for \(name): \(error)")
        }
    }

    public func mapForDevice(_ memory: DMAMemory) throws(DeviceError) {
        do { try access.mapForDevice(memory) } catch {
            throw DeviceError(.accessFailed, "mapping \(memory.size) bytes of DMA memory for \(name): \(error)")
        }
    }

    public func removalRequested() -> Bool { (access as? PCIDeviceAccess)?.removalRequested() ?? false }

    public func releaseDevice() {
        barRegisters.removeAll()
        access.close()
    }
    public func legacyInterrupt() -> DeviceInterrupt? { try? access.legacyInterrupt() }
    public func messageInterrupts(count: Int) throws(DeviceError) -> [DeviceInterrupt] {
        do { return try access.messageInterrupts(count: count) } catch { throw DeviceError(.unsupported, "\(error)") }
    }

    public func enableBusMaster() throws(DeviceError) {
        do { try access.enableBusMaster() } catch {
            throw DeviceError(.accessFailed, "bus mastering on \(name): \(error)")
        }
    }
}
