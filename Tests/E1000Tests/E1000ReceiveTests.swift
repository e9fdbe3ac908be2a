import E1000
import NetDevice
import Packets
import Testing

@Suite("e1000 receive path")
struct E1000ReceiveTests {
    @Test func framesArriveWithLengthAndContent() throws {
        let fixture = try E1000Fixture()
        let sizes = [60, 64, 65, 128, 511, 1024, 1514, 1518]
        for (i, size) in sizes.enumerated() { #expect(fixture.model.deliver(Frames.ethernet(length: size, seed: i)) == .stored) }
        let received = fixture.receiveAll()
        #expect(received.map(\.packetLength) == sizes)
        for (i, packet) in received.enumerated() {
            #expect(packet.contents() == Frames.ethernet(length: sizes[i], seed: i))
            #expect(packet.isContiguous)
        }
        let statistics = fixture.device.statistics()
        #expect(statistics.receivedPackets == UInt64(sizes.count))
        #expect(statistics.receivedBytes == UInt64(sizes.reduce(0, +)))
        freeAll(received)
    }

    @Test func shortFramesArePaddedToSixtyBytes() throws {
        let fixture = try E1000Fixture()
        fixture.model.deliver(Frames.ethernet(length: 42))
        let received = fixture.receiveAll()
        #expect(received.map(\.packetLength) == [60])
        freeAll(received)
    }

    @Test func refillKeepsTheRingFullOverManyBurstsWithOneTailWritePerBurst() throws {
        let fixture = try E1000Fixture(ringSize: 64, poolCapacity: 200)
        let burst = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 32)
        defer { burst.deallocate() }
        var total = 0
        var bursts = 0
        fixture.model.clearLogs()
        for round in 0..<200 {
            for i in 0..<32 { #expect(fixture.model.deliver(Frames.ethernet(length: 64, seed: round + i)) == .stored) }
            let n = fixture.device.receive(queue: 0, into: burst)
            #expect(n == 32)
            total += n
            bursts += 1
            PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: burst[0..<n]))
        }
        #expect(total == 6400)
        #expect(fixture.model.tailWrites.receive <= bursts)
        #expect(fixture.model.tailWrites.receive >= bursts - 1)
        #expect(fixture.pool.statistics.available == 200 - 63)
        #expect(fixture.device.statistics().receiveMissed == 0)
    }

    @Test func emptyRingCountsMissedFramesAndRecovers() throws {
        let fixture = try E1000Fixture(ringSize: 32)
        for i in 0..<40 { fixture.model.deliver(Frames.ethernet(length: 64, seed: i)) }
        #expect(fixture.device.statistics().receiveMissed == 9)
        let received = fixture.receiveAll()
        #expect(received.count == 31)
        freeAll(received)
        #expect(fixture.model.deliver(Frames.ethernet(length: 64)) == .stored)
        freeAll(fixture.receiveAll())
    }

    @Test func framesWithErrorsAreDroppedAndCountedByKind() throws {
        let fixture = try E1000Fixture()
        fixture.model.deliver(Frames.ethernet(length: 100))
        fixture.model.nextReceiveErrors = E1000ReceiveDescriptor.crcError
        fixture.model.deliver(Frames.ethernet(length: 100))
        fixture.model.nextReceiveErrors = E1000ReceiveDescriptor.symbolError | E1000ReceiveDescriptor.dataError
        fixture.model.deliver(Frames.ethernet(length: 100))
        fixture.model.nextReceiveErrors = E1000ReceiveDescriptor.tcpChecksumError  // not a frame error
        fixture.model.deliver(Frames.ethernet(length: 100))
        fixture.model.nextReceiveErrors = 0
        let received = fixture.receiveAll()
        #expect(received.count == 2)
        let statistics = fixture.device.statistics()
        #expect(statistics.extended["rx_desc_crc_errors"] == 1)
        #expect(statistics.extended["rx_desc_symbol_errors"] == 1)
        #expect(statistics.extended["rx_desc_data_errors"] == 1)
        #expect(statistics.receiveErrors >= 2)
        freeAll(received)
        fixture.device.stop()
        #expect(fixture.pool.statistics.available == fixture.pool.capacity)
    }

    @Test func smallBuffersChainAFrameOverSeveralDescriptors() throws {
        let fixture = try E1000Fixture(dataRoom: 1024)
        #expect(fixture.model.reg(E1000Register.rctl) & E1000Rctl.bufferSizeMask == E1000Rctl.bufferSize1024)
        let frame = Frames.ethernet(length: 1514, seed: 9)
        fixture.model.deliver(frame)
        fixture.model.deliver(Frames.ethernet(length: 64))
        let received = fixture.receiveAll()
        #expect(received.count == 2)
        #expect(received[0].segmentCount == 2)
        #expect(received[0].packetLength == 1514)
        #expect(received[0].contents() == frame)
        #expect(received[1].packetLength == 64)
        freeAll(received)
    }

    @Test func aFrameWithAnErrorInItsFirstPieceIsDroppedWhole() throws {
        let fixture = try E1000Fixture(dataRoom: 512)
        fixture.model.nextReceiveErrors = E1000ReceiveDescriptor.crcError
        fixture.model.deliver(Frames.ethernet(length: 1500))
        fixture.model.nextReceiveErrors = 0
        fixture.model.deliver(Frames.ethernet(length: 600))
        let received = fixture.receiveAll()
        #expect(received.map(\.packetLength) == [600])
        freeAll(received)
        fixture.device.stop()
        #expect(fixture.pool.statistics.available == fixture.pool.capacity)
    }

    @Test func receiveOnAStoppedPortOrAnotherQueueGivesNothing() throws {
        let fixture = try E1000Fixture()
        fixture.model.deliver(Frames.ethernet(length: 64))
        let burst = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 4)
        defer { burst.deallocate() }
        #expect(fixture.device.receive(queue: 1, into: burst) == 0)
        fixture.device.stop()
        #expect(fixture.device.receive(queue: 0, into: burst) == 0)
    }
}
