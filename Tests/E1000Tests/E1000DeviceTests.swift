import E1000
import NetDevice
import Packets
import Platform
import Testing
import Wire

@Suite("e1000 probe, configuration, start and stop")
struct E1000DeviceTests {
    @Test func probeReadsMACFromReceiveAddressRegisters() throws {
        let fixture = try E1000Fixture(start: false)
        #expect(fixture.device.macAddress == MACAddress("52:54:00:12:34:56"))
        #expect(fixture.model.resets >= 1)
        #expect(fixture.model.reg(E1000Register.ims) == 0)
    }

    @Test func probeFallsBackToEEPROMWhenRAHIsInvalid() throws {
        let fixture = try E1000Fixture(configure: { $0.macOnlyInEEPROM = true; $0.mac = [0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE] }, start: false)
        #expect(fixture.device.macAddress == MACAddress("02:aa:bb:cc:dd:ee"))
    }

    @Test func probeRefusesAnotherDevice() {
        let model = E1000Model()
        model.deviceID = 0x10D3
        #expect {
            _ = try E1000Device(backend: model)
        } throws: { error in
            (error as? DeviceError)?.kind == .unsupported && "\(error)".contains("not an 82540EM")
        }
    }

    @Test func startProgramsTheDeviceInOrder() throws {
        let fixture = try E1000Fixture(ringSize: 128, start: false)
        let model = fixture.model
        model.resetClearsRegisters = false  // as QEMU: leftovers must be overwritten
        model.poke(E1000Register.mta + 8, 0xDEAD_BEEF)
        model.poke(E1000Register.rdh, 77)
        model.clearLogs()
        try fixture.device.start()
        let writes = model.writes
        let resetIndex = try #require(writes.firstIndex { $0.offset == E1000Register.ctrl && $0.value & E1000Ctrl.reset != 0 })
        let maskIndex = try #require(writes.lastIndex { $0.offset == E1000Register.imc && $0.value == 0xFFFF_FFFF })
        let rctlIndex = try #require(writes.lastIndex { $0.offset == E1000Register.rctl && $0.value & E1000Rctl.enable != 0 })
        let rdtIndex = try #require(writes.lastIndex { $0.offset == E1000Register.rdt })
        #expect(resetIndex < maskIndex && maskIndex < rctlIndex && rctlIndex < rdtIndex)

        let rctl = model.reg(E1000Register.rctl)
        #expect(rctl & E1000Rctl.broadcastAccept != 0)
        #expect(rctl & E1000Rctl.stripCRC != 0)
        #expect(rctl & E1000Rctl.bufferSizeMask == E1000Rctl.bufferSize2048)
        #expect(rctl & (E1000Rctl.unicastPromiscuous | E1000Rctl.multicastPromiscuous) == 0)
        let tctl = model.reg(E1000Register.tctl)
        #expect(tctl & E1000Tctl.enable != 0 && tctl & E1000Tctl.padShortPackets != 0)
        #expect(tctl >> 4 & 0xFF == 0x0F && tctl >> 12 & 0x3FF == 0x40)
        #expect(model.reg(E1000Register.tipg) == E1000Tipg.copperDefault)
        #expect(model.reg(E1000Register.ctrl) & E1000Ctrl.setLinkUp != 0)
        #expect(model.reg(E1000Register.rdlen) == 128 * 16)
        #expect(model.reg(E1000Register.tdlen) == 128 * 16)
        #expect(model.reg(E1000Register.rdh) == 0)
        #expect(model.reg(E1000Register.rdt) == 127)
        #expect(model.reg(E1000Register.mta + 8) == 0)
        #expect(model.reg(E1000Register.rah0) & E1000ReceiveAddressHigh.addressValid != 0)
        #expect(model.dmaFaults.isEmpty)
    }

    @Test(arguments: [100, 16, 8192, 36])
    func badRingSizesAreRefused(size: Int) throws {
        let model = E1000Model()
        let device = try E1000Device(backend: model)
        let pool = try PacketPool(name: "bad-ring", capacity: 9000, cacheSize: 0, policy: .anonymous, iovaMode: .virtual)
        #expect {
            try device.configure(PortConfiguration(receiveRingSize: size, receivePools: [pool]))
        } throws: { error in
            (error as? DeviceError)?.kind == .invalidConfiguration && "\(error)".contains("multiples of 8")
        }
        #expect {
            try device.configure(PortConfiguration(transmitRingSize: size, receivePools: [pool]))
        } throws: { error in
            "\(error)".contains("transmit ring size \(size)")
        }
    }

    @Test func poolSmallerThanTheRingIsRefused() throws {
        let model = E1000Model()
        let device = try E1000Device(backend: model)
        let pool = try PacketPool(name: "small", capacity: 100, cacheSize: 0, policy: .anonymous, iovaMode: .virtual)
        #expect {
            try device.configure(PortConfiguration(receiveRingSize: 256, receivePools: [pool]))
        } throws: { error in
            (error as? DeviceError)?.kind == .invalidConfiguration && "\(error)".contains("fewer than the receive ring")
        }
    }

    @Test func exhaustedPoolFailsStartAndGivesBuffersBack() throws {
        let fixture = try E1000Fixture(ringSize: 64, poolCapacity: 64, start: false)
        let held = (0..<10).compactMap { _ in fixture.pool.allocate() }
        #expect {
            try fixture.device.start()
        } throws: { error in
            "\(error)".contains("make the pool larger")
        }
        #expect(fixture.pool.statistics.available == 54)
        for buffer in held { buffer.free() }
        try fixture.device.start()
        #expect(fixture.pool.statistics.available == 1)
    }

    @Test func startBeforeConfigureIsRefused() throws {
        let device = try E1000Device(backend: E1000Model())
        #expect(throws: DeviceError.self) { try device.start() }
    }

    @Test func stopResetsTheDeviceAndReturnsEveryBuffer() throws {
        let fixture = try E1000Fixture(ringSize: 64, poolCapacity: 256)
        for i in 0..<20 { fixture.model.deliver(Frames.ethernet(length: 100, seed: i)) }
        let received = fixture.receiveAll()
        #expect(received.count == 20)
        freeAll(received)
        let sent = (0..<5).map { _ in fixture.packet(Frames.ethernet(length: 80)) }
        #expect(fixture.transmit(sent) == 5)
        let resetsBefore = fixture.model.resets
        fixture.device.stop()
        #expect(fixture.model.resets == resetsBefore + 1)
        #expect(fixture.model.reg(E1000Register.rctl) == 0)
        #expect(fixture.model.reg(E1000Register.tctl) == 0)
        #expect(fixture.model.reg(E1000Register.ims) == 0)
        #expect(fixture.pool.statistics.available == 256)
        // Counters survive a stop.
        #expect(fixture.device.statistics().receivedPackets == 20)
        #expect(fixture.device.statistics().transmittedPackets == 5)
        // And the port starts again.
        try fixture.device.start()
        fixture.model.deliver(Frames.ethernet(length: 64))
        let again = fixture.receiveAll()
        #expect(again.count == 1)
        freeAll(again)
    }

    @Test func linkStatusFollowsTheStatusRegister() throws {
        let fixture = try E1000Fixture()
        #expect(fixture.device.linkStatus() == LinkStatus(isUp: true, speedMbps: 1000, fullDuplex: true))
        fixture.model.setLink(up: false)
        #expect(fixture.device.linkStatus().isUp == false)
        #expect(fixture.model.deliver(Frames.ethernet(length: 64)) == .disabled)
    }

    @Test func promiscuousAndAllMulticastSetTheFilterBits() throws {
        let fixture = try E1000Fixture()
        let other: [UInt8] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55]
        let multicast: [UInt8] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]
        #expect(fixture.model.deliver(Frames.ethernet(length: 64, to: other)) == .filtered)
        #expect(fixture.model.deliver(Frames.ethernet(length: 64, to: multicast)) == .filtered)
        #expect(fixture.model.deliver(Frames.ethernet(length: 64, to: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])) == .stored)
        try fixture.device.setAllMulticast(true)
        #expect(fixture.model.reg(E1000Register.rctl) & E1000Rctl.multicastPromiscuous != 0)
        #expect(fixture.model.deliver(Frames.ethernet(length: 64, to: multicast)) == .stored)
        try fixture.device.setPromiscuous(true)
        #expect(fixture.model.reg(E1000Register.rctl) & E1000Rctl.unicastPromiscuous != 0)
        #expect(fixture.model.deliver(Frames.ethernet(length: 64, to: other)) == .stored)
        try fixture.device.setPromiscuous(false)
        try fixture.device.setAllMulticast(false)
        #expect(fixture.model.reg(E1000Register.rctl) & (E1000Rctl.unicastPromiscuous | E1000Rctl.multicastPromiscuous) == 0)
        #expect(fixture.model.reg(E1000Register.rctl) & E1000Rctl.enable != 0)
        #expect(fixture.model.deliver(Frames.ethernet(length: 64, to: other)) == .filtered)
        freeAll(fixture.receiveAll())
    }

    @Test func macChangeRewritesReceiveAddressZero() throws {
        let fixture = try E1000Fixture()
        let new = try #require(MACAddress("02:de:ad:be:ef:01"))
        try fixture.device.setMACAddress(new)
        #expect(fixture.device.macAddress == new)
        #expect(fixture.model.reg(E1000Register.ral0) == 0xBEAD_DE02)
        #expect(fixture.model.reg(E1000Register.rah0) == 0x8000_01EF)
        #expect(fixture.model.deliver(Frames.ethernet(length: 64, to: [0x02, 0xde, 0xad, 0xbe, 0xef, 0x01])) == .stored)
        #expect(fixture.model.deliver(Frames.ethernet(length: 64)) == .filtered)
        #expect(throws: DeviceError.self) { try fixture.device.setMACAddress(MACAddress.broadcast) }
        freeAll(fixture.receiveAll())
        // The address survives a restart.
        fixture.device.stop()
        try fixture.device.start()
        #expect(fixture.model.reg(E1000Register.ral0) == 0xBEAD_DE02)
    }

    @Test(arguments: [false, true])
    func hardwareCountersAccumulateWithoutDoubleCounting(datasheetSemantics: Bool) throws {
        let fixture = try E1000Fixture(ringSize: 32, configure: { model in
            if datasheetSemantics {
                model.allStatisticsClearOnRead = true
                model.subsystemVendorID = 0x8086
            }
        })
        for i in 0..<10 { fixture.model.deliver(Frames.ethernet(length: 100, seed: i)) }
        // The ring holds 31 buffers: the rest are missed.
        for i in 0..<30 { fixture.model.deliver(Frames.ethernet(length: 100, seed: i)) }
        let first = fixture.device.statistics()
        let second = fixture.device.statistics()
        #expect(first.extended["gprc"] == 31)
        #expect(first.extended["gorc"] == 31 * 104)
        #expect(first.receiveMissed == 9)
        #expect(first.extended["rnbc"] == 9)
        #expect(second.extended["gprc"] == 31)
        #expect(second.receiveMissed == 9)
        freeAll(fixture.receiveAll())
        fixture.device.resetStatistics()
        let cleared = fixture.device.statistics()
        #expect(cleared.receiveMissed == 0 && cleared.extended["gprc"] == 0 && cleared.receivedPackets == 0)
        fixture.model.deliver(Frames.ethernet(length: 64))
        #expect(fixture.device.statistics().extended["gprc"] == 1)
        #expect(fixture.device.statistics().receiveMissed == 0)
        freeAll(fixture.receiveAll())
    }

    @Test func countersOfAnEarlierUserDoNotShow() throws {
        let fixture = try E1000Fixture(configure: { $0.resetClearsRegisters = false }, start: false)
        fixture.model.poke(E1000StatisticsRegister.gprc, 1234)
        fixture.model.poke(E1000StatisticsRegister.mpc, 55)
        try fixture.device.start()
        let statistics = fixture.device.statistics()
        #expect(statistics.extended["gprc"] == 0)
        #expect(statistics.receiveMissed == 0)
    }

    @Test func infoDescribesThePort() throws {
        let fixture = try E1000Fixture(start: false)
        let info = fixture.device.info
        #expect(info.driverName == "e1000")
        #expect(info.ringSizes == 32...4096 && info.ringSizeAlignment == 8)
        #expect(info.transmitOffloads.contains(.txUDPChecksum))
        #expect(info.notes.contains { $0.contains("polling") })
    }
}
