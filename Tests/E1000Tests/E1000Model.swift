import E1000
import NetDevice
import Platform
import Wire

/// A software model of the 82540EM as QEMU emulates it, for host tests:
/// a register file with the device's side effects (CTRL.RST self-clearing,
/// ICR and statistics clear-on-read, EERD), and the descriptor walks QEMU
/// does: a TDT write sends every descriptor up to the tail; `deliver` puts
/// a frame into the receive ring as a frame arriving from the wire would.
///
/// DMA goes only to memory the driver mapped (ring memory from
/// `dmaMemory`, pools through `mapForDevice`); anything else is recorded in
/// `dmaFaults`.
final class E1000Model: E1000Backend {
    let name = "model-82540em"
    var vendorID: UInt16 = 0x8086
    var deviceID: UInt16 = 0x100E
    var subsystemVendorID: UInt16 = 0x1AF4

    var mac: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
    /// QEMU's CTRL.RST leaves registers alone; the datasheet's resets them.
    var resetClearsRegisters = true
    /// The station address only in the EEPROM (RAH.AV clear after reset).
    var macOnlyInEEPROM = false
    /// Every statistics register clears on read (datasheet) instead of
    /// QEMU's mix.
    var allStatisticsClearOnRead = false
    var linkUp = true
    /// A TDT write only records the tail; `runTransmit()` sends (so that a
    /// measurement can leave the model's own work out).
    var deferTransmit = false
    /// Error bits written into the next delivered frames' descriptors.
    var nextReceiveErrors: UInt8 = 0

    private(set) var registerFile = [UInt32](repeating: 0, count: E1000Register.barSize / 4)
    private(set) var mapped: [DMAMemory] = []
    private(set) var dmaFaults: [String] = []
    /// Frames sent, in order (unless `keepTransmittedFrames` is off).
    private(set) var transmitted: [[UInt8]] = []
    var keepTransmittedFrames = true
    private(set) var transmittedCount = 0
    /// The first data descriptor command of each sent frame, and each
    /// descriptor's command dword as the device read it.
    private(set) var transmitCommands: [UInt32] = []
    var keepTransmitCommands = true
    private(set) var writes: [(offset: Int, value: UInt32)] = []
    var logWrites = true
    private(set) var tailWrites = (receive: 0, transmit: 0)
    private(set) var resets = 0
    private(set) var contextDescriptorsSeen = 0

    // Transmit state kept across descriptors, as in QEMU.
    private var txFrame: [UInt8] = []
    private var txOptions: UInt8 = 0
    private var context = (ipcss: 0, ipcso: 0, ipcse: 0, tucss: 0, tucso: 0, tucse: 0)
    /// The TSE context (QEMU keeps it apart from the checksum one): where
    /// the checksums go, HDRLEN, MSS, PAYLEN.
    private var segmentationContext = (ipcss: 0, ipcso: 0, ipcse: 0, tucss: 0, tucso: 0, tucse: 0)
    private var segmentation = (headerLength: 0, mss: 0, payloadLength: 0)
    private var txSegmenting = false
    private(set) var segmentationContextsSeen = 0
    private var eeprom: [UInt16] = []

    init() {
        powerOn()
    }

    func powerOn() {
        for i in registerFile.indices { registerFile[i] = 0 }
        registerFile[E1000Register.ctrl / 4] = E1000Ctrl.setLinkUp | E1000Ctrl.fullDuplex
        registerFile[E1000Register.status / 4] = (linkUp ? E1000Status.linkUp : 0) | E1000Status.fullDuplex | E1000Status.speed1000
        eeprom = [UInt16](repeating: 0, count: 64)
        for i in 0..<3 { eeprom[i] = UInt16(mac[2 * i]) | UInt16(mac[2 * i + 1]) << 8 }
        if !macOnlyInEEPROM {
            registerFile[E1000Register.ral0 / 4] = UInt32(mac[0]) | UInt32(mac[1]) << 8 | UInt32(mac[2]) << 16 | UInt32(mac[3]) << 24
            registerFile[E1000Register.rah0 / 4] = UInt32(mac[4]) | UInt32(mac[5]) << 8 | E1000ReceiveAddressHigh.addressValid
        }
        txFrame = []
    }

    func setLink(up: Bool) {
        linkUp = up
        if up { registerFile[E1000Register.status / 4] |= E1000Status.linkUp } else { registerFile[E1000Register.status / 4] &= ~E1000Status.linkUp }
    }

    func reg(_ offset: Int) -> UInt32 { registerFile[offset / 4] }
    func poke(_ offset: Int, _ value: UInt32) { registerFile[offset / 4] = value }

    // MARK: E1000Backend

    func registers() throws(DeviceError) -> any E1000RegisterAccess { ModelRegisters(model: self) }

    func dmaMemory(size: Int) throws(DeviceError) -> DMAMemory {
        do {
            let memory = try DMAMemory(size: size, policy: .anonymous, iovaMode: .virtual)
            mapped.append(memory)
            return memory
        } catch {
            throw DeviceError(.accessFailed, "\(error)")
        }
    }

    func mapForDevice(_ memory: DMAMemory) throws(DeviceError) {
        mapped.append(memory)
    }

    private(set) var busMaster = false
    func enableBusMaster() throws(DeviceError) { busMaster = true }
    func legacyInterrupt() -> DeviceInterrupt? { nil }
    private(set) var closed = false
    func close() { closed = true }

    /// The host pointer for `length` bytes of device address `iova`.
    func translate(_ iova: UInt64, _ length: Int) -> UnsafeMutableRawPointer? {
        for memory in mapped {
            let start = memory.iova(atOffset: 0)
            if iova >= start, iova + UInt64(length) <= start + UInt64(memory.size) {
                return memory.base + Int(iova - start)
            }
        }
        dmaFaults.append("DMA to unmapped IOVA 0x\(String(iova, radix: 16)) (\(length) bytes)")
        return nil
    }

    // MARK: Registers

    static let clearedOnReadByQEMU: Set<Int> = [
        0x4074, 0x4078, 0x407C, 0x4080, 0x40A4, 0x40AC, 0x40D0, 0x40D4, 0x40F0, 0x40F4,
        0x405C, 0x4060, 0x4064, 0x4068, 0x406C, 0x4070, 0x40D8, 0x40DC, 0x40E0, 0x40E4, 0x40E8, 0x40EC, 0x40F8,
    ]
    static let highHalves: Set<Int> = [0x408C, 0x4094, 0x40C4, 0x40CC]

    /// Reads all-ones from now on (the function left the bus).
    var removed = false
    /// What `removalRequested()` answers (VFIO's device request).
    var removalRequest = false
    func removalRequested() -> Bool { removalRequest }

    func read32(_ offset: Int) -> UInt32 {
        if removed { return 0xFFFF_FFFF }
        let index = offset / 4
        let value = registerFile[index]
        switch offset {
        case E1000Register.icr:
            registerFile[index] = 0
        case E1000Register.eerd:
            guard value & E1000Eerd.start != 0 else { return value }
            let word = Int(value >> E1000Eerd.addressShift & 0xff)
            return (word < eeprom.count ? UInt32(eeprom[word]) << E1000Eerd.dataShift : 0) | E1000Eerd.done | (value & ~E1000Eerd.start)
        case 0x4000...0x40FF:
            if Self.highHalves.contains(offset) {
                registerFile[index] = 0
                registerFile[index - 1] = 0
            } else if Self.clearedOnReadByQEMU.contains(offset) || allStatisticsClearOnRead && !Self.isLowHalf(offset) {
                registerFile[index] = 0
            }
        default:
            break
        }
        return value
    }

    static func isLowHalf(_ offset: Int) -> Bool { highHalves.contains(offset + 4) }

    func write32(_ offset: Int, _ value: UInt32) {
        if logWrites { writes.append((offset, value)) }
        let index = offset / 4
        switch offset {
        case E1000Register.ctrl:
            if value & E1000Ctrl.reset != 0 {
                resets += 1
                if resetClearsRegisters {
                    powerOn()
                    return
                }
            }
            registerFile[index] = value & ~E1000Ctrl.reset
        case E1000Register.status, E1000Register.icr:
            break  // read-only here
        case E1000Register.imc:
            registerFile[E1000Register.ims / 4] &= ~value
        case E1000Register.ims:
            registerFile[index] |= value
        case E1000Register.rdlen, E1000Register.tdlen:
            registerFile[index] = value & 0xFFF80
        case E1000Register.rdh, E1000Register.tdh:
            registerFile[index] = value & 0xFFFF
        case E1000Register.rdt:
            registerFile[index] = value & 0xFFFF
            tailWrites.receive += 1
        case E1000Register.tdt:
            registerFile[index] = value & 0xFFFF
            tailWrites.transmit += 1
            if !deferTransmit { startTransmit() }
        case E1000Register.tctl:
            registerFile[index] = value
            startTransmit()
        default:
            registerFile[index] = value
        }
    }

    func clearLogs() {
        writes.removeAll()
        tailWrites = (0, 0)
        transmitted.removeAll()
        transmitCommands.removeAll()
    }

    // MARK: Transmit (as QEMU's start_xmit)

    func runTransmit() { startTransmit() }

    private func startTransmit() {
        guard reg(E1000Register.tctl) & E1000Tctl.enable != 0 else { return }
        let count = Int(reg(E1000Register.tdlen)) / 16
        guard count > 0 else { return }
        let base = UInt64(reg(E1000Register.tdbah)) << 32 | UInt64(reg(E1000Register.tdbal) & ~0xF)
        var guardCount = 0
        while reg(E1000Register.tdh) != reg(E1000Register.tdt), guardCount < count {
            guardCount += 1
            let head = Int(reg(E1000Register.tdh))
            guard let d = translate(base + UInt64(head * 16), 16) else { return }
            processTransmitDescriptor(d)
            poke(E1000Register.tdh, UInt32(head + 1 == count ? 0 : head + 1))
        }
    }

    private func processTransmitDescriptor(_ d: UnsafeMutableRawPointer) {
        let command = d.load(fromByteOffset: 8, as: UInt32.self)
        let type = command & (E1000TransmitDescriptor.extended | E1000TransmitDescriptor.typeData)
        if type == E1000TransmitDescriptor.extended {
            let fields = (Int(d.load(fromByteOffset: 0, as: UInt8.self)), Int(d.load(fromByteOffset: 1, as: UInt8.self)),
                          Int(d.load(fromByteOffset: 2, as: UInt16.self)), Int(d.load(fromByteOffset: 4, as: UInt8.self)),
                          Int(d.load(fromByteOffset: 5, as: UInt8.self)), Int(d.load(fromByteOffset: 6, as: UInt16.self)))
            if command & E1000TransmitDescriptor.tcpSegmentation != 0 {
                segmentationContext = fields
                segmentation = (Int(d.load(fromByteOffset: 13, as: UInt8.self)), Int(d.load(fromByteOffset: 14, as: UInt16.self)),
                                Int(command & 0xF_FFFF))
                segmentationContextsSeen += 1
            } else {
                context = fields
            }
            contextDescriptorsSeen += 1
        } else {
            if command & E1000TransmitDescriptor.tcpSegmentation != 0 { txSegmenting = true }
            if txFrame.isEmpty {
                txOptions = type == E1000TransmitDescriptor.extended | E1000TransmitDescriptor.typeData
                    ? d.load(fromByteOffset: 13, as: UInt8.self) : 0
            }
            if keepTransmitCommands { transmitCommands.append(command) }
            let length = Int(command & 0xFFFF)
            let address = d.load(fromByteOffset: 0, as: UInt64.self)
            if length > 0, let source = translate(address, length) {
                txFrame.append(contentsOf: UnsafeRawBufferPointer(start: source, count: length))
            }
            if command & E1000TransmitDescriptor.endOfPacket != 0 {
                finishFrame()
            }
        }
        if command & E1000TransmitDescriptor.reportStatus != 0 {
            d.storeBytes(of: d.load(fromByteOffset: 12, as: UInt8.self) | E1000TransmitDescriptor.descriptorDone,
                         toByteOffset: 12, as: UInt8.self)
        }
    }

    private func finishFrame() {
        if txSegmenting {
            cutSegments()
            return
        }
        if txOptions & E1000TransmitDescriptor.insertL4Checksum != 0 {
            Self.insertChecksum(&txFrame, at: context.tucso, from: context.tucss, through: context.tucse, noZero: true)
        }
        if txOptions & E1000TransmitDescriptor.insertIPChecksum != 0 {
            Self.insertChecksum(&txFrame, at: context.ipcso, from: context.ipcss, through: context.ipcse, noZero: false)
        }
        transmittedCount += 1
        bump(E1000StatisticsRegister.gptc)
        bump(E1000StatisticsRegister.tpt)
        bump64(E1000StatisticsRegister.gotcl, by: txFrame.count + 4)
        if keepTransmittedFrames { transmitted.append(txFrame) }
        txFrame.removeAll(keepingCapacity: true)
        txOptions = 0
    }

    /// TCP segmentation as QEMU's e1000 does it (xmit_seg): the header in
    /// front of each MSS piece, IPv4 length and identification, sequence
    /// number, PSH/FIN on the last piece only, the piece's TCP length added
    /// to the seeded checksum, then both checksums inserted.
    private func cutSegments() {
        let whole = txFrame
        let header = Array(whole[0..<segmentation.headerLength])
        let c = segmentationContext
        var offset = segmentation.headerLength
        var index = 0
        while offset < whole.count {
            let end = min(offset + segmentation.mss, whole.count)
            txFrame = header + whole[offset..<end]
            let ipLength = txFrame.count - c.ipcss
            txFrame[c.ipcss + 2] = UInt8(ipLength >> 8)
            txFrame[c.ipcss + 3] = UInt8(ipLength & 0xff)
            let id = (Int(txFrame[c.ipcss + 4]) << 8 | Int(txFrame[c.ipcss + 5])) + index
            txFrame[c.ipcss + 4] = UInt8((id >> 8) & 0xff)
            txFrame[c.ipcss + 5] = UInt8(id & 0xff)
            var seq = UInt32(txFrame[c.tucss + 4]) << 24 | UInt32(txFrame[c.tucss + 5]) << 16
                | UInt32(txFrame[c.tucss + 6]) << 8 | UInt32(txFrame[c.tucss + 7])
            seq &+= UInt32(index * segmentation.mss)
            for k in 0..<4 { txFrame[c.tucss + 4 + k] = UInt8((seq >> (24 - 8 * UInt32(k))) & 0xff) }
            if end < whole.count { txFrame[c.tucss + 13] &= ~0x09 }
            var seed = (Int(txFrame[c.tucso]) << 8 | Int(txFrame[c.tucso + 1])) + (txFrame.count - c.tucss)
            seed = (seed >> 16) + (seed & 0xffff)
            txFrame[c.tucso] = UInt8(seed >> 8)
            txFrame[c.tucso + 1] = UInt8(seed & 0xff)
            Self.insertChecksum(&txFrame, at: c.tucso, from: c.tucss, through: c.tucse, noZero: true)
            Self.insertChecksum(&txFrame, at: c.ipcso, from: c.ipcss, through: c.ipcse, noZero: false)
            transmittedCount += 1
            if keepTransmittedFrames { transmitted.append(txFrame) }
            offset = end
            index += 1
        }
        txFrame.removeAll(keepingCapacity: true)
        txOptions = 0
        txSegmenting = false
    }

    /// The Internet checksum of bytes start...end (0: to the end), which
    /// include what is in the field, complemented into the field.
    static func insertChecksum(_ frame: inout [UInt8], at field: Int, from start: Int, through end: Int, noZero: Bool) {
        let last = end == 0 || end >= frame.count ? frame.count - 1 : end
        guard field + 1 < frame.count, start <= last else { return }
        var result = Array(frame[start...last]).withUnsafeBytes { InternetChecksum.checksum($0) }
        if noZero && result == 0 { result = 0xffff }
        frame[field] = UInt8(result >> 8)
        frame[field + 1] = UInt8(result & 0xff)
    }

    private func bump(_ offset: Int) { registerFile[offset / 4] &+= 1 }
    private func bump64(_ low: Int, by amount: Int) {
        let value = (UInt64(registerFile[low / 4 + 1]) << 32 | UInt64(registerFile[low / 4])) &+ UInt64(amount)
        registerFile[low / 4] = UInt32(truncatingIfNeeded: value)
        registerFile[low / 4 + 1] = UInt32(truncatingIfNeeded: value >> 32)
    }

    // MARK: Receive (as QEMU's e1000_receive_iov)

    enum DeliveryResult: Equatable { case stored, filtered, disabled, noBuffers, oversized }

    var receiveBufferSize: Int {
        switch reg(E1000Register.rctl) & E1000Rctl.bufferSizeMask {
        case E1000Rctl.bufferSize1024: return 1024
        case E1000Rctl.bufferSize512: return 512
        case E1000Rctl.bufferSize256: return 256
        default: return 2048
        }
    }

    @discardableResult
    func deliver(_ frame: [UInt8]) -> DeliveryResult {
        frame.withUnsafeBytes { deliver($0) }
    }

    /// Stores a frame without allocating (for the malloc count).
    @discardableResult
    func deliver(_ frame: UnsafeRawBufferPointer) -> DeliveryResult {
        let rctl = reg(E1000Register.rctl)
        guard rctl & E1000Rctl.enable != 0, reg(E1000Register.status) & E1000Status.linkUp != 0, busMaster else { return .disabled }
        let size = max(frame.count, 60)
        if size > 1522 && rctl & E1000Rctl.longPackets == 0 {
            bump(E1000StatisticsRegister.roc)
            return .oversized
        }
        guard accepts(frame, rctl: rctl) else { return .filtered }
        let count = Int(reg(E1000Register.rdlen)) / 16
        let total = size + (rctl & E1000Rctl.stripCRC != 0 ? 0 : 4)
        let bufferSize = receiveBufferSize
        var available = Int(reg(E1000Register.rdt)) - Int(reg(E1000Register.rdh))
        if available < 0 { available += count }
        guard count > 0, available * bufferSize >= total, available > 0 else {
            bump(E1000StatisticsRegister.rnbc)
            bump(E1000StatisticsRegister.mpc)
            return .noBuffers
        }
        let base = UInt64(reg(E1000Register.rdbah)) << 32 | UInt64(reg(E1000Register.rdbal) & ~0xF)
        var offset = 0
        while offset < total {
            let head = Int(reg(E1000Register.rdh))
            guard let d = translate(base + UInt64(head * 16), 16) else { return .noBuffers }
            let piece = min(bufferSize, total - offset)
            let address = d.load(fromByteOffset: 0, as: UInt64.self)
            if address != 0 {
                let copy = max(0, min(piece, frame.count - offset))
                if let target = translate(address, bufferSize) {
                    if copy > 0 { target.copyMemory(from: frame.baseAddress! + offset, byteCount: copy) }
                    if piece > copy { (target + copy).initializeMemory(as: UInt8.self, repeating: 0, count: piece - copy) }
                }
                offset += piece
                d.storeBytes(of: UInt16(piece), toByteOffset: 8, as: UInt16.self)
                var status = E1000ReceiveDescriptor.descriptorDone
                if offset >= total { status |= E1000ReceiveDescriptor.endOfPacket | E1000ReceiveDescriptor.ignoreChecksum }
                d.storeBytes(of: nextReceiveErrors, toByteOffset: 13, as: UInt8.self)
                d.storeBytes(of: status, toByteOffset: 12, as: UInt8.self)
            }
            poke(E1000Register.rdh, UInt32(head + 1 == count ? 0 : head + 1))
        }
        bump(E1000StatisticsRegister.gprc)
        bump(E1000StatisticsRegister.tpr)
        bump64(E1000StatisticsRegister.gorcl, by: size + 4)
        if nextReceiveErrors & E1000ReceiveDescriptor.crcError != 0 { bump(E1000StatisticsRegister.crcerrs) }
        return .stored
    }

    private func accepts(_ frame: UnsafeRawBufferPointer, rctl: UInt32) -> Bool {
        guard frame.count >= 6 else { return false }
        let destination = frame
        if (0..<6).allSatisfy({ frame[$0] == 0xff }) { if rctl & E1000Rctl.broadcastAccept != 0 { return true } }
        else if destination[0] & 1 == 1 { if rctl & E1000Rctl.multicastPromiscuous != 0 { return true } }
        else if rctl & E1000Rctl.unicastPromiscuous != 0 { return true }
        for entry in 0..<16 {
            let high = reg(E1000Register.rah0 + entry * 8)
            guard high & E1000ReceiveAddressHigh.addressValid != 0 else { continue }
            let low = reg(E1000Register.ral0 + entry * 8)
            let address = UInt64(low) | UInt64(high & 0xffff) << 32
            var wanted: UInt64 = 0
            for i in 0..<6 { wanted |= UInt64(destination[i]) << (8 * UInt64(i)) }
            if address == wanted { return true }
        }
        let hash = (Int(destination[5]) << 8 | Int(destination[4])) >> 4 & 0xfff
        return reg(E1000Register.mta + (hash >> 5) * 4) & (1 << UInt32(hash & 31)) != 0
    }
}

/// The model's BAR 0 as the driver sees it.
struct ModelRegisters: E1000RegisterAccess {
    let model: E1000Model
    func read32(_ offset: Int) -> UInt32 { model.read32(offset) }
    func write32(_ offset: Int, _ value: UInt32) { model.write32(offset, value) }
}
