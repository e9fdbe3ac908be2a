import E1000
import NetDevice
import Packets
import Testing

@Suite("e1000 transmit path")
struct E1000TransmitTests {
    @Test func aBurstIsSentWithOneTailWrite() throws {
        let fixture = try E1000Fixture()
        let frames = (0..<16).map { Frames.ethernet(length: 60 + $0 * 90, to: Frames.peerMAC, seed: $0) }
        fixture.model.clearLogs()
        #expect(fixture.transmit(frames.map(fixture.packet)) == 16)
        #expect(fixture.model.tailWrites.transmit == 1)
        #expect(fixture.model.transmitted == frames)
        let statistics = fixture.device.statistics()
        #expect(statistics.transmittedPackets == 16)
        #expect(statistics.transmittedBytes == UInt64(frames.map(\.count).reduce(0, +)))
        #expect(statistics.extended["gptc"] == 16)
        #expect(fixture.model.transmitCommands.allSatisfy { $0 & E1000TransmitDescriptor.insertFCS != 0 })
    }

    @Test func statusIsRequestedEveryFewDescriptorsAndBuffersComeBack() throws {
        let fixture = try E1000Fixture(ringSize: 128, poolCapacity: 400)
        let burst = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 32)
        defer { burst.deallocate() }
        for _ in 0..<100 {
            #expect(fixture.pool.allocate(into: burst) == 32)
            for packet in burst { packet.setContents(Frames.ethernet(length: 64, to: Frames.peerMAC)) }
            #expect(fixture.device.transmit(queue: 0, burst) == 32)
        }
        #expect(fixture.model.transmittedCount == 3200)
        let withRS = fixture.model.transmitCommands.filter { $0 & E1000TransmitDescriptor.reportStatus != 0 }.count
        // RS on one packet in 32 (min(32, 128 / 4)).
        #expect(withRS == 100)
        // At most the ring's worth of buffers is held by the driver.
        #expect(fixture.pool.statistics.available >= 400 - 63 - 128)
        fixture.device.stop()
        #expect(fixture.pool.statistics.available == 400)
    }

    @Test func aFullRingTakesAPrefixAndTheRestStaysTheCallers() throws {
        let fixture = try E1000Fixture(ringSize: 32, poolCapacity: 200)
        fixture.model.poke(E1000Register.tctl, 0)  // the device stops sending
        let packets = (0..<40).map { _ in fixture.packet(Frames.ethernet(length: 64, to: Frames.peerMAC)) }
        let taken = fixture.transmit(packets)
        #expect(taken == 31)
        #expect(fixture.model.transmittedCount == 0)
        for packet in packets[taken...] { packet.free() }
    }

    @Test func multiSegmentPacketsUseOneDescriptorPerSegmentWithEOPOnTheLast() throws {
        let fixture = try E1000Fixture()
        let full = Frames.ethernet(length: 1200, to: Frames.peerMAC, seed: 5)
        let first = fixture.packet(Array(full[0..<100]))
        let second = fixture.packet(Array(full[100..<700]))
        let third = fixture.packet(Array(full[700...]))
        #expect(first.chain(second) && first.chain(third))
        fixture.model.clearLogs()
        #expect(fixture.transmit([first]) == 1)
        #expect(fixture.model.transmitted == [full])
        let commands = fixture.model.transmitCommands
        #expect(commands.count == 3)
        #expect(commands.map { $0 & E1000TransmitDescriptor.endOfPacket != 0 } == [false, false, true])
        #expect(commands.map { Int($0 & 0xFFFF) } == [100, 600, 500])
        fixture.device.stop()
        #expect(fixture.pool.statistics.available == fixture.pool.capacity)
    }

    @Test(arguments: [UInt8(17), UInt8(6)])
    func checksumsAreFilledInThroughAContextDescriptor(protocolNumber: UInt8) throws {
        let fixture = try E1000Fixture()
        let l4Flag: OffloadFlags = protocolNumber == 6 ? .txTCPChecksum : .txUDPChecksum
        let l4Length = protocolNumber == 6 ? 20 : 8
        var packets = [PacketBuffer]()
        for payload in [10, 333, 1000] {
            let packet = fixture.packet(Frames.ipv4(protocolNumber: protocolNumber, payload: payload))
            packet.offloadFlags = [.txIPv4, .txIPChecksum, l4Flag]
            packet.setHeaderLengths(l2: 14, l3: 20, l4: l4Length)
            packets.append(packet)
        }
        #expect(fixture.transmit(packets) == 3)
        #expect(fixture.model.transmitted.count == 3)
        for frame in fixture.model.transmitted {
            #expect(Frames.ipChecksumValid(frame))
            #expect(Frames.l4ChecksumValid(frame))
            #expect(frame[24] != 0 || frame[25] != 0)
        }
        // One context for three packets of the same layout.
        #expect(fixture.model.contextDescriptorsSeen == 1)
        #expect(fixture.device.statistics().extended["tx_context_descriptors"] == 1)

        // An IP-only request changes the layout: a new context.
        let ipOnly = fixture.packet(Frames.ipv4(protocolNumber: protocolNumber, payload: 50))
        ipOnly.offloadFlags = [.txIPv4, .txIPChecksum]
        ipOnly.setHeaderLengths(l2: 14, l3: 20)
        #expect(fixture.transmit([ipOnly]) == 1)
        #expect(fixture.model.contextDescriptorsSeen == 2)
        let last = try #require(fixture.model.transmitted.last)
        #expect(Frames.ipChecksumValid(last))
        // A packet without requests needs no context and keeps its bytes.
        let plain = Frames.ipv4(protocolNumber: protocolNumber, payload: 20)
        #expect(fixture.transmit([fixture.packet(plain)]) == 1)
        #expect(fixture.model.transmitted.last == plain)
        #expect(fixture.model.contextDescriptorsSeen == 2)
    }

    @Test func badPacketsAreDroppedAndCountedNotSentNorRetried() throws {
        let fixture = try E1000Fixture(dataRoom: 4096)
        let tooLong = fixture.packet(Frames.ethernet(length: 1600, to: Frames.peerMAC))
        let empty = fixture.pool.allocate()!
        let noHeaders = fixture.packet(Frames.ipv4(protocolNumber: 17, payload: 10))
        noHeaders.offloadFlags = [.txIPv4, .txUDPChecksum]  // lengths missing
        let wrongProtocol = fixture.packet(Frames.ipv4(protocolNumber: 17, payload: 10))
        wrongProtocol.offloadFlags = [.txIPv4, .txTCPChecksum]
        wrongProtocol.setHeaderLengths(l2: 14, l3: 20, l4: 20)
        let good = fixture.packet(Frames.ethernet(length: 64, to: Frames.peerMAC))
        #expect(fixture.transmit([tooLong, empty, noHeaders, wrongProtocol, good]) == 5)
        #expect(fixture.model.transmittedCount == 1)
        let statistics = fixture.device.statistics()
        #expect(statistics.transmitErrors == 4)
        #expect(statistics.extended["tx_drop_too_long"] == 1)
        #expect(statistics.extended["tx_drop_empty"] == 1)
        #expect(statistics.extended["tx_drop_bad_offload_request"] == 2)
        fixture.device.stop()
        #expect(fixture.pool.statistics.available == fixture.pool.capacity)
    }

    @Test func transmittedBuffersAreReachableByTheDevice() throws {
        let fixture = try E1000Fixture()
        let other = try PacketPool(name: "unmapped", capacity: 16, cacheSize: 0, policy: .anonymous, iovaMode: .virtual)
        let packet = other.allocate()!
        packet.setContents(Frames.ethernet(length: 64, to: Frames.peerMAC))
        #expect(fixture.transmit([packet]) == 1)
        // The model refuses DMA outside memory the driver mapped: pools a
        // port transmits from go in PortConfiguration.transmitPools.
        #expect(fixture.model.dmaFaults.count == 1)
        fixture.device.stop()
        #expect(other.statistics.available == 16)
    }
}
