import CPlatform
import NetDevice
import Packets
import Platform
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// A poll-mode driver for the Intel 82540EM (8086:100e), the e1000 QEMU
/// emulates: one receive and one transmit queue, interrupts masked.
///
/// Probe (init) resets the device and reads its MAC; `configure` checks the
/// configuration and makes the descriptor rings; `start` resets again and
/// programs everything; `stop` resets and frees every buffer.
public final class E1000Device: NetDevice {
    public let info: DeviceInfo
    public private(set) var macAddress: MACAddress
    public let backend: E1000Backend
    let registers: any E1000RegisterAccess

    private var configuration: PortConfiguration?
    private var ringMemory: DMAMemory?
    private var receiveRing: E1000ReceiveRing?
    private var transmitRing: E1000TransmitRing?
    private var mappedMemory: Set<ObjectIdentifier> = []
    private var mappedRegions: [DMAMemory] = []
    private(set) public var isStarted = false
    private var promiscuous = false
    private var allMulticast = false
    /// Hardware counters; statistics() may run on another thread than the
    /// polling core, so their accumulation is locked (never per packet).
    private let hardwareCounters: Mutex<E1000HardwareCounters>
    /// Software counters folded in at stop (the rings are rebuilt at start).
    private var retiredCounters = PortStatistics()
    /// Why the device was given up (E1000Device+Health.swift); its
    /// registers are not touched again once set.
    var removalReason: String?

    public static let ringSizes = 32...4096
    public static let ringSizeAlignment = 8
    /// The largest frame without CRC that fits a normal (non-LPE) frame with
    /// a VLAN tag: 1518 bytes.
    public static let maximumFrameLength = 1518

    /// Probes the device behind `backend`: checks its identity, resets it,
    /// masks interrupts and reads the station address.
    public init(backend: E1000Backend) throws(DeviceError) {
        guard backend.vendorID == E1000PCI.vendorIntel, backend.deviceID == E1000PCI.device82540EM else {
            throw DeviceError(.unsupported,
                "\(backend.name) is \(hex4(backend.vendorID)):\(hex4(backend.deviceID)), not an 82540EM (8086:100e)")
        }
        self.backend = backend
        registers = try backend.registers()
        let qemu = backend.subsystemVendorID == E1000PCI.subsystemVendorQEMU
        hardwareCounters = Mutex(E1000HardwareCounters(qemuSemantics: qemu))
        var notes = [
            "interrupts masked (IMC) while polling; an idle core in interrupt mode arms RXT0/RXDMT0/RXO on INTx (VFIO eventfd or /dev/uioN)",
            "1 receive and 1 transmit queue (the 82540EM has no RSS)",
            "receive checksum offload (RXCSUM) when configured; QEMU's 82540EM marks every frame IXSM (checksum not checked), so the stack checks",
            "no VLAN insertion or stripping (CTRL.VME off)",
            "TCP segmentation (TSE) for IPv4 only: QEMU's 82540EM model writes an IPv6 piece's payload length as the frame less IPCSS, 40 bytes too long (hw/net/e1000.c xmit_seg), and Linux's e1000 driver offers TSO6 on none of the 8254x; IPv6 gets L4 checksum offload",
        ]
        if qemu {
            notes.append("QEMU device (subsystem vendor 1af4): error counters that QEMU does not clear on read are taken as differences")
        }
        info = DeviceInfo(
            driverName: "e1000", deviceName: backend.name, maximumReceiveQueues: 1, maximumTransmitQueues: 1,
            ringSizes: Self.ringSizes, ringSizeAlignment: Self.ringSizeAlignment,
            maximumFrameLength: Self.maximumFrameLength, mtu: 1500, receiveOffloads: [.rxIPChecksumGood, .rxL4ChecksumGood],
            transmitOffloads: [.txIPv4, .txIPv6, .txIPChecksum, .txTCPChecksum, .txUDPChecksum, .txTCPSegmentation], notes: notes)
        macAddress = MACAddress.zero
        try backend.enableBusMaster()
        try resetDevice()
        macAddress = try readStationAddress()
    }

    deinit {
        stop()
    }

    // MARK: Reset and identity

    /// Global reset (CTRL.RST), then interrupts masked and the receive and
    /// transmit units off. QEMU's emulation does not clear registers on
    /// CTRL.RST, so everything the driver relies on is written explicitly.
    func resetDevice() throws(DeviceError) {
        registers.write32(E1000Register.imc, 0xFFFF_FFFF)
        registers.write32(E1000Register.rctl, 0)
        registers.write32(E1000Register.tctl, E1000Tctl.padShortPackets)
        _ = registers.read32(E1000Register.status)  // flush posted writes
        usleep(10_000)
        registers.write32(E1000Register.ctrl, registers.read32(E1000Register.ctrl) | E1000Ctrl.reset)
        // The manual asks for 1 us before the next access; give it 1 ms.
        usleep(1_000)
        var waited = 0
        while registers.read32(E1000Register.ctrl) & E1000Ctrl.reset != 0 {
            guard waited < 100 else {
                throw DeviceError(.timedOut, "e1000 \(backend.name): CTRL.RST did not clear within 100 ms; the device does not respond")
            }
            usleep(1_000)
            waited += 1
        }
        registers.write32(E1000Register.imc, 0xFFFF_FFFF)
        _ = registers.read32(E1000Register.icr)  // clears pending causes
        registers.write32(E1000Register.rctl, 0)
        registers.write32(E1000Register.tctl, 0)
        for register in [E1000Register.rdbal, E1000Register.rdbah, E1000Register.rdlen, E1000Register.rdh,
                         E1000Register.rdt, E1000Register.tdbal, E1000Register.tdbah, E1000Register.tdlen,
                         E1000Register.tdh, E1000Register.tdt] {
            registers.write32(register, 0)
        }
    }

    /// RAL0/RAH0 when valid, else the first three EEPROM words (EERD).
    func readStationAddress() throws(DeviceError) -> MACAddress {
        let low = registers.read32(E1000Register.ral0)
        let high = registers.read32(E1000Register.rah0)
        if high & E1000ReceiveAddressHigh.addressValid != 0, low != 0 || high & 0xFFFF != 0 {
            return MACAddress(
                UInt8(truncatingIfNeeded: low), UInt8(truncatingIfNeeded: low >> 8),
                UInt8(truncatingIfNeeded: low >> 16), UInt8(truncatingIfNeeded: low >> 24),
                UInt8(truncatingIfNeeded: high), UInt8(truncatingIfNeeded: high >> 8))
        }
        var words = [UInt16]()
        for word in 0..<3 {
            words.append(try readEEPROM(word: word))
        }
        return MACAddress(
            UInt8(truncatingIfNeeded: words[0]), UInt8(truncatingIfNeeded: words[0] >> 8),
            UInt8(truncatingIfNeeded: words[1]), UInt8(truncatingIfNeeded: words[1] >> 8),
            UInt8(truncatingIfNeeded: words[2]), UInt8(truncatingIfNeeded: words[2] >> 8))
    }

    func readEEPROM(word: Int) throws(DeviceError) -> UInt16 {
        registers.write32(E1000Register.eerd, UInt32(word) << E1000Eerd.addressShift | E1000Eerd.start)
        for _ in 0..<1000 {
            let value = registers.read32(E1000Register.eerd)
            if value & E1000Eerd.done != 0 { return UInt16(truncatingIfNeeded: value >> E1000Eerd.dataShift) }
            usleep(10)
        }
        throw DeviceError(.timedOut, "e1000 \(backend.name): EEPROM word \(word) not read within 10 ms (EERD.DONE never set)")
    }

    // MARK: Configuration

    public func configure(_ configuration: PortConfiguration) throws(DeviceError) {
        guard !isStarted else {
            throw DeviceError(.wrongState, "e1000 \(backend.name) is started: stop it before configuring")
        }
        try configuration.validate(against: info)
        let unsupportedReceive = configuration.receiveOffloads.subtracting(info.receiveOffloads)
        guard unsupportedReceive.isEmpty else {
            throw DeviceError(.unsupported, "receive offloads 0x\(String(unsupportedReceive.rawValue, radix: 16)) not offered by e1000")
        }
        let pool = configuration.receivePools[0]
        guard pool.capacity >= configuration.receiveRingSize else {
            throw DeviceError(.invalidConfiguration,
                "receive pool '\(pool.name)' has \(pool.capacity) buffers, fewer than the receive ring of \(configuration.receiveRingSize): "
                + "give the pool at least ring size + burst size + cache buffers (or use a smaller --rxd)")
        }
        guard Self.bufferSizeBits(dataRoom: pool.dataRoomSize) != nil else {
            throw DeviceError(.invalidConfiguration,
                "receive pool '\(pool.name)' has a data room of \(pool.dataRoomSize) bytes: the 82540EM needs at least 256 (2048 for one buffer per frame)")
        }
        for pool in configuration.receivePools + configuration.transmitPools {
            try mapOnce(pool.memory)
        }
        let rxBytes = configuration.receiveRingSize * E1000Descriptor.size
        let txBytes = configuration.transmitRingSize * E1000Descriptor.size
        let txOffset = (rxBytes + E1000Descriptor.ringAlignment - 1) / E1000Descriptor.ringAlignment * E1000Descriptor.ringAlignment
        let memory = try backend.dmaMemory(size: txOffset + txBytes)
        guard memory.iova(atOffset: 0) % UInt64(E1000Descriptor.ringAlignment) == 0 else {
            throw DeviceError(.deviceFailed, "descriptor memory at IOVA 0x\(String(memory.iova(atOffset: 0), radix: 16)) is not 128-byte aligned")
        }
        // With physical IOVAs each ring must sit in one page to be contiguous.
        guard memory.iovaMode == .virtual || memory.isPhysicallyContiguous(offset: 0, length: rxBytes)
                && memory.isPhysicallyContiguous(offset: txOffset, length: txBytes)
        else {
            throw DeviceError(.invalidConfiguration,
                "descriptor rings of \(rxBytes) + \(txBytes) bytes do not fit in one page of \(memory.pageSize) bytes: use hugepages or smaller rings")
        }
        receiveRing = nil
        transmitRing = nil
        ringMemory = memory
        let bufferSize = Self.bufferSizeBits(dataRoom: pool.dataRoomSize)!.size
        receiveRing = E1000ReceiveRing(
            count: configuration.receiveRingSize, descriptors: memory.base, iova: memory.iova(atOffset: 0),
            pool: pool, bufferSize: bufferSize)
        transmitRing = E1000TransmitRing(
            count: configuration.transmitRingSize, descriptors: memory.base + txOffset,
            iova: memory.iova(atOffset: txOffset), maximumFrameLength: Self.maximumFrameLength)
        promiscuous = configuration.promiscuous
        self.configuration = configuration
    }

    private func mapOnce(_ memory: DMAMemory) throws(DeviceError) {
        let id = ObjectIdentifier(memory)
        guard !mappedMemory.contains(id) else { return }
        try backend.mapForDevice(memory)
        mappedMemory.insert(id)
        mappedRegions.append(memory)
    }

    /// RCTL.BSIZE for the largest buffer the data room holds.
    static func bufferSizeBits(dataRoom: Int) -> (size: Int, bits: UInt32)? {
        for (size, bits) in [(2048, E1000Rctl.bufferSize2048), (1024, E1000Rctl.bufferSize1024),
                             (512, E1000Rctl.bufferSize512), (256, E1000Rctl.bufferSize256)]
        where dataRoom >= size {
            return (size, bits)
        }
        return nil
    }

    // MARK: Start and stop

    public func start() throws(DeviceError) {
        guard let configuration, let receiveRing, let transmitRing else {
            throw DeviceError(.wrongState, "e1000 \(backend.name): configure the port before starting it")
        }
        guard !isStarted else { return }
        try resetDevice()
        hardwareCounters.withLock { $0.discard(from: registers) }

        // Link: set link up, auto speed detection, no forced speed or reset.
        var ctrl = registers.read32(E1000Register.ctrl)
        ctrl &= ~(E1000Ctrl.linkReset | E1000Ctrl.phyReset | E1000Ctrl.invertLossOfSignal
            | E1000Ctrl.forceSpeed | E1000Ctrl.forceDuplex | E1000Ctrl.vlanModeEnable)
        ctrl |= E1000Ctrl.setLinkUp | E1000Ctrl.autoSpeedDetect
        registers.write32(E1000Register.ctrl, ctrl)

        // Address filters: our MAC in entry 0, the others invalid, no multicast.
        writeStationAddress(macAddress)
        for entry in 1..<E1000Register.receiveAddressEntries {
            registers.write32(E1000Register.ral0 + entry * 8, 0)
            registers.write32(E1000Register.rah0 + entry * 8, 0)
        }
        for index in 0..<E1000Register.multicastTableEntries {
            registers.write32(E1000Register.mta + index * 4, 0)
        }

        // Receive ring.
        registers.write32(E1000Register.rdbal, UInt32(truncatingIfNeeded: receiveRing.descriptorsIOVA))
        registers.write32(E1000Register.rdbah, UInt32(truncatingIfNeeded: receiveRing.descriptorsIOVA >> 32))
        registers.write32(E1000Register.rdlen, UInt32(receiveRing.count * E1000Descriptor.size))
        registers.write32(E1000Register.rdh, 0)
        registers.write32(E1000Register.rdt, 0)
        registers.write32(E1000Register.rdtr, 0)
        registers.write32(E1000Register.radv, 0)
        let armed = receiveRing.armAll()
        guard armed == receiveRing.count - 1 else {
            receiveRing.releaseBuffers()
            throw DeviceError(.invalidConfiguration,
                "receive pool '\(receiveRing.pool.name)' gave \(armed) of the \(receiveRing.count - 1) buffers the receive ring needs "
                + "(\(receiveRing.pool.statistics.available) free of \(receiveRing.pool.capacity)): make the pool larger")
        }
        // Receive checksum offload when asked for (the ring reads the result).
        let receiveChecksum = !configuration.receiveOffloads.isDisjoint(with: [.rxIPChecksumGood, .rxL4ChecksumGood])
        registers.write32(E1000Register.rxcsum, receiveChecksum ? E1000Rxcsum.ipOffload | E1000Rxcsum.tcpUDPOffload : 0)
        registers.write32(E1000Register.rctl, receiveControl())

        // Transmit ring.
        registers.write32(E1000Register.tdbal, UInt32(truncatingIfNeeded: transmitRing.descriptorsIOVA))
        registers.write32(E1000Register.tdbah, UInt32(truncatingIfNeeded: transmitRing.descriptorsIOVA >> 32))
        registers.write32(E1000Register.tdlen, UInt32(transmitRing.count * E1000Descriptor.size))
        registers.write32(E1000Register.tdh, 0)
        registers.write32(E1000Register.tdt, 0)
        registers.write32(E1000Register.tidv, 0)
        registers.write32(E1000Register.tadv, 0)
        registers.write32(E1000Register.tipg, E1000Tipg.copperDefault)
        registers.write32(E1000Register.tctl,
            E1000Tctl.enable | E1000Tctl.padShortPackets
            | E1000Tctl.defaultCollisionThreshold << E1000Tctl.collisionThresholdShift
            | E1000Tctl.fullDuplexCollisionDistance << E1000Tctl.collisionDistanceShift)

        // Buffers are in the descriptors before the device may use them.
        dp_wmb()
        registers.write32(E1000Register.rdt, UInt32(receiveRing.tail))
        _ = configuration
        isStarted = true
    }

    private func receiveControl() -> UInt32 {
        var rctl = E1000Rctl.enable | E1000Rctl.broadcastAccept | E1000Rctl.stripCRC
        rctl |= Self.bufferSizeBits(dataRoom: receiveRing?.bufferSize ?? 2048)!.bits
        if promiscuous { rctl |= E1000Rctl.unicastPromiscuous | E1000Rctl.multicastPromiscuous }
        if allMulticast { rctl |= E1000Rctl.multicastPromiscuous }
        return rctl
    }

    /// Stops both units, resets the device and returns every buffer it held.
    public func stop() {
        guard isStarted else { return }
        isStarted = false
        hardwareCounters.withLock { $0.accumulate(from: registers) }
        try? resetDevice()
        if let receiveRing {
            retiredCounters.receivedPackets += receiveRing.counters.packets
            retiredCounters.receivedBytes += receiveRing.counters.bytes
            retiredCounters.receiveErrors += receiveRing.counters.errors
            retiredCounters.receiveNoBuffer += receiveRing.counters.noBuffer
            retiredCounters.extended.merge(receiveRing.errorCounts.named, uniquingKeysWith: +)
            receiveRing.counters = QueueCounters()
            receiveRing.errorCounts = E1000ReceiveErrorCounts()
            receiveRing.releaseBuffers()
        }
        if let transmitRing {
            retiredCounters.transmittedPackets += transmitRing.counters.packets
            retiredCounters.transmittedBytes += transmitRing.counters.bytes
            retiredCounters.transmitErrors += transmitRing.counters.errors
            retiredCounters.extended.merge(transmitRing.dropCounts.named, uniquingKeysWith: +)
            transmitRing.counters = QueueCounters()
            transmitRing.dropCounts = E1000TransmitDropCounts()
            transmitRing.releaseBuffers()
        }
    }

    /// Stops the port and releases the device and its memory.
    public func close() {
        stop()
        receiveRing = nil
        transmitRing = nil
        ringMemory = nil
        backend.close()
    }

    // MARK: Bursts

    public func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard queue == 0, isStarted, let ring = receiveRing else { return 0 }
        return ring.receive(into: packets, tailRegister: registers)
    }

    /// What the port was configured with (the ring honours each request a
    /// packet makes; the stack asks only for these).
    public var transmitOffloadsInUse: OffloadFlags { configuration?.transmitOffloads ?? [] }

    public func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard queue == 0, isStarted, let ring = transmitRing else { return 0 }
        return ring.transmit(packets, tailRegister: registers)
    }

    // MARK: Link, filters, address

    public func linkStatus() -> LinkStatus {
        guard removalReason == nil else { return LinkStatus(isUp: false) }
        let status = registers.read32(E1000Register.status)
        // All-ones: a removed device (E1000Device+Health.swift).
        guard status & E1000Status.linkUp != 0, status != 0xFFFF_FFFF else { return LinkStatus(isUp: false) }
        let speed: Int
        switch status & E1000Status.speedMask {
        case E1000Status.speed10: speed = 10
        case E1000Status.speed100: speed = 100
        default: speed = 1000
        }
        return LinkStatus(isUp: true, speedMbps: speed, fullDuplex: status & E1000Status.fullDuplex != 0)
    }

    public func setPromiscuous(_ enabled: Bool) throws(DeviceError) {
        promiscuous = enabled
        if isStarted { registers.write32(E1000Register.rctl, receiveControl()) }
    }

    public func setAllMulticast(_ enabled: Bool) throws(DeviceError) {
        allMulticast = enabled
        if isStarted { registers.write32(E1000Register.rctl, receiveControl()) }
    }

    public func setMACAddress(_ address: MACAddress) throws(DeviceError) {
        guard address.isValidUnicast else {
            throw DeviceError(.invalidConfiguration, "\(address) cannot be a station address (multicast or all zeros)")
        }
        macAddress = address
        writeStationAddress(address)
    }

    private func writeStationAddress(_ address: MACAddress) {
        let b = address.bytes
        let low = UInt32(b.0) | UInt32(b.1) << 8 | UInt32(b.2) << 16 | UInt32(b.3) << 24
        let high = UInt32(b.4) | UInt32(b.5) << 8 | E1000ReceiveAddressHigh.addressValid
        // Invalidate the entry while its halves disagree.
        registers.write32(E1000Register.rah0, 0)
        registers.write32(E1000Register.ral0, low)
        registers.write32(E1000Register.rah0, high)
    }

    // MARK: Statistics

    public func statistics() -> PortStatistics {
        var result = retiredCounters
        if let receiveRing {
            result.receivedPackets += receiveRing.counters.packets
            result.receivedBytes += receiveRing.counters.bytes
            result.receiveErrors += receiveRing.counters.errors
            result.receiveNoBuffer += receiveRing.counters.noBuffer
            result.extended.merge(receiveRing.errorCounts.named, uniquingKeysWith: +)
        }
        if let transmitRing {
            result.transmittedPackets += transmitRing.counters.packets
            result.transmittedBytes += transmitRing.counters.bytes
            result.transmitErrors += transmitRing.counters.errors
            result.extended.merge(transmitRing.dropCounts.named, uniquingKeysWith: +)
        }
        let hardware = hardwareCounters.withLock { counters in
            if isStarted && removalReason == nil { counters.accumulate(from: registers) }
            return counters
        }
        result.receiveMissed += hardware.value("mpc")
        result.receiveErrors += hardware.value("crcerrs") + hardware.value("algnerrc") + hardware.value("symerrs")
            + hardware.value("rxerrc") + hardware.value("rlec") + hardware.value("ruc") + hardware.value("roc")
        result.transmitErrors += hardware.value("ecol") + hardware.value("latecol")
        result.extended.merge(hardware.named, uniquingKeysWith: +)
        return result
    }

    /// Per-queue software counters (queue 0 only).
    public func queueCounters() -> (receive: QueueCounters, transmit: QueueCounters) {
        (receiveRing?.counters ?? QueueCounters(), transmitRing?.counters ?? QueueCounters())
    }

    public func resetStatistics() {
        retiredCounters = PortStatistics()
        receiveRing?.counters = QueueCounters()
        receiveRing?.errorCounts = E1000ReceiveErrorCounts()
        transmitRing?.counters = QueueCounters()
        transmitRing?.dropCounts = E1000TransmitDropCounts()
        hardwareCounters.withLock { counters in
            if isStarted { counters.accumulate(from: registers) }
            counters.resetTotals()
        }
    }
}

extension E1000Device {
    /// Opens the PCI function at `address` (bound to vfio-pci or
    /// uio_pci_generic) and probes it.
    public static func open(pci address: PCIAddress) throws(DeviceError) -> E1000Device {
        let access: PCIDeviceAccess
        do {
            access = try PCIDeviceAccess(address: address)
        } catch {
            throw DeviceError(.notFound, "e1000 \(address): \(error)")
        }
        return try E1000Device(backend: try E1000PCIBackend(access: access))
    }
}

/// Four hex digits, for PCI IDs.
func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
}
