import ArgumentParser
import Atomics
import NetDevice
import Packets
import Platform
import VirtioNet

/// The guest half of the virtio lab tests (Tools/test.d/30-virtio-lab.sh):
/// opens virtio ports through VFIO or UIO and runs test phases against the
/// peer script in the lab namespace (Tools/test.d/virtio_peer.py), which
/// counts and checks what reaches the taps and sends what the guest must
/// receive. Prints "VIRTIO-TEST PHASE PASS|FAIL DETAIL" per phase.
@main
struct DPVirtioTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-virtio-test",
        abstract: "virtio-net driver checks against the lab peer, inside the dp-lab guest.")

    @Option(help: "PCI addresses of the virtio ports, comma separated (io needs two).")
    var ports: String

    @Option(help: "Frames per phase.")
    var count = 1000

    @Option(help: "Queue pairs per port (io forwards with one core per pair).")
    var queues = 1

    @Flag(help: "Do not take VIRTIO_NET_F_MRG_RXBUF.")
    var noMergeable = false

    @Flag(help: "Take VIRTIO_F_RING_EVENT_IDX (doorbells by avail_event).")
    var eventIndex = false

    @Option(help: "Tag printed with every result line.")
    var tag = ""

    @Option(help: "First phase id (the peer tells runs apart by it: give each run in one boot its own range).")
    var firstID = 1

    @Argument(help: "Phases: info link txonly rxonly io csum-tx csum-rx.")
    var phases: [String]

    func run() throws {
        let options = VirtioNetOptions(mergeableReceiveBuffers: !noMergeable, eventIndex: eventIndex)
        let addresses = ports.split(separator: ",").map(String.init)
        var opened = [LabPort]()
        for (index, address) in addresses.enumerated() {
            opened.append(try LabPort(address: address, options: options, queues: queues, poolIndex: index))
        }
        defer { for port in opened { port.close() } }
        var runner = PhaseRunner(ports: opened, count: count, queues: queues, tag: tag.isEmpty ? "" : tag + " ", nextID: firstID)
        for phase in phases { runner.run(phase) }
        print("VIRTIO-TEST-SUMMARY \(runner.tag)phases=\(phases.count) failures=\(runner.failures)")
        if runner.failures > 0 { throw ExitCode.failure }
    }
}

struct PhaseRunner {
    let ports: [LabPort]
    let count: Int
    let queues: Int
    let tag: String
    var nextID: Int
    var failures = 0

    mutating func run(_ phase: String) {
        let id = nextID
        nextID += 1
        do {
            let detail: String
            switch phase {
            case "info": detail = info()
            case "link": detail = try link()
            case "txonly": detail = try transmitOnly(id)
            case "rxonly": detail = try receiveOnly(id)
            case "io": detail = try forward(id)
            case "csum-tx": detail = try checksumTransmit(id)
            case "csum-rx": detail = try checksumReceive(id)
            default: throw TestFailure("unknown phase")
            }
            print("VIRTIO-TEST \(tag)\(phase) PASS \(detail)")
        } catch {
            failures += 1
            print("VIRTIO-TEST \(tag)\(phase) FAIL \(error)")
        }
    }

    func info() -> String {
        for port in ports {
            let info = port.device.info
            print("port \(port.address): \(info.driverName) mac \(port.mac) mtu \(info.mtu) queues \(info.maximumReceiveQueues) rings \(info.ringSizes)")
            print("  negotiated: \(port.device.negotiatedFeatures)")
            for note in info.notes { print("  note: \(note)") }
        }
        return "\(ports.count) ports"
    }

    func link() throws -> String {
        for port in ports where !port.device.linkStatus().isUp {
            throw TestFailure("\(port.address): link down (\(port.device.linkStatus()))")
        }
        return ports.map { "\($0.address) \($0.device.linkStatus())" }.joined(separator: ", ")
    }

    /// Frame lengths 60...1514 (64...1518 on the wire with the CRC), cycling.
    static func length(_ sequence: Int) -> Int { 60 + sequence % 1455 }

    func transmitOnly(_ id: Int) throws -> String {
        let port = ports[0]
        _ = try port.request("ID=\(id) TXONLY count=\(count)", reply: "OK \(id)")
        let frames = (0..<count).map { TestFrames.data(length: Self.length($0), sequence: UInt32($0), source: port.mac) }
        try port.send(frames)
        let result = try port.request("ID=\(id) END", reply: "RESULT \(id)")
        let fields = Self.fields(result)
        guard fields["received"] == count, fields["bad"] == 0 else {
            throw TestFailure("sent \(count), peer: \(result)")
        }
        return "sent \(count) frames of \(Self.length(0))-\(Self.length(min(count, 1455) - 1)) bytes, peer received \(count) intact"
    }

    func receiveOnly(_ id: Int) throws -> String {
        let port = ports[0]
        _ = try port.request("ID=\(id) RXONLY count=\(count)", reply: "OK \(id)")
        var received = 0
        var bad = 0
        var lengths = Set<Int>()
        var ended = false
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(60))
        var drainUntil: ContinuousClock.Instant?
        while clock.now < deadline {
            port.poll { packet in
                switch TestFrames.etherType(packet) {
                case TestFrames.dataType:
                    let bytes = packet.contents()
                    if TestFrames.isIntactData(bytes) { received += 1; lengths.insert(bytes.count) } else { bad += 1 }
                case TestFrames.controlType:
                    if TestFrames.controlText(packet.contents()).hasPrefix("END \(id)") { ended = true }
                default: break
                }
                return false
            }
            if received == count { break }
            if ended && drainUntil == nil { drainUntil = clock.now.advanced(by: .seconds(2)) }
            if let drainUntil, clock.now > drainUntil { break }
        }
        let statistics = port.device.statistics()
        guard received == count, bad == 0 else {
            throw TestFailure("received \(received) of \(count) intact (\(bad) damaged, end seen: \(ended)); port: rx \(statistics.receivedPackets) errors \(statistics.receiveErrors) no-buffer \(statistics.receiveNoBuffer)")
        }
        return "received \(received) intact frames, \(lengths.count) distinct lengths \(lengths.min() ?? 0)-\(lengths.max() ?? 0)"
    }

    func forward(_ id: Int) throws -> String {
        guard ports.count == 2 else { throw TestFailure("io needs two ports") }
        // Several queue pairs: IPv4/UDP frames of 64 flows, which the
        // multiqueue tap spreads over its queues by flow hash.
        _ = try ports[0].request("ID=\(id) IO count=\(count) flows=\(queues > 1 ? 1 : 0)", reply: "OK \(id)")
        let result = Forwarder(ports: ports, queues: queues, resultPrefix: "RESULT \(id)").run(timeout: .seconds(90))
        guard let text = result.peer else { throw TestFailure("no result from the peer within 90 s; forwarded per queue \(result.perQueue)") }
        let fields = Self.fields(text)
        guard fields["r01"] == count, fields["r10"] == count, fields["bad"] == 0 else {
            let stats = ports.map { port in
                let s = port.device.statistics()
                return "\(port.address) rx \(s.receivedPackets) tx \(s.transmittedPackets) rx-errors \(s.receiveErrors) no-buffer \(s.receiveNoBuffer)"
            }
            throw TestFailure("peer: \(text); forwarded per queue \(result.perQueue), dropped on full rings \(result.dropped); \(stats.joined(separator: "; "))")
        }
        if queues > 1 {
            for (queue, forwarded) in result.perQueue.enumerated() where forwarded == 0 {
                throw TestFailure("queue \(queue) carried no traffic (per queue \(result.perQueue)); peer: \(text)")
            }
        }
        return "\(count) frames each way intact; forwarded per queue pair \(result.perQueue)"
    }

    func checksumTransmit(_ id: Int) throws -> String {
        let port = ports[0]
        guard port.device.negotiatedFeatures.contains(.csum) else { throw TestFailure("VIRTIO_NET_F_CSUM not negotiated") }
        _ = try port.request("ID=\(id) UDPCHECK count=\(count)", reply: "OK \(id)")
        let frames = (0..<count).map {
            TestFrames.udpForChecksumOffload(payloadLength: 18 + $0 % 1400, sequence: UInt32($0), source: port.mac, destination: TestFrames.broadcast)
        }
        try port.send(frames) { packet in
            packet.offloadFlags = [.txIPv4, .txUDPChecksum]
            packet.setHeaderLengths(l2: 14, l3: 20, l4: 8)
        }
        let result = try port.request("ID=\(id) END", reply: "RESULT \(id)")
        let fields = Self.fields(result)
        guard fields["received"] == count, fields["bad"] == 0 else { throw TestFailure("sent \(count) with checksum offload, peer: \(result)") }
        return "\(count) UDP frames with offloaded checksums valid at the tap (\(fields["partial"] ?? 0) still partial there: the host completes them on egress)"
    }

    func checksumReceive(_ id: Int) throws -> String {
        let port = ports[0]
        guard port.device.negotiatedFeatures.contains(.guestCsum) else { throw TestFailure("VIRTIO_NET_F_GUEST_CSUM not negotiated") }
        _ = try port.request("ID=\(id) UDPSEND count=\(count) mac=\(port.mac)", reply: "OK \(id)")
        var good = 0, partial = 0, plain = 0
        var ended = false
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(60))
        var drainUntil: ContinuousClock.Instant?
        while clock.now < deadline && good + partial + plain < count {
            port.poll { packet in
                let bytes = packet.contents()
                if bytes.count >= 42, bytes[12] == 0x08, bytes[13] == 0x00, bytes[23] == 17, bytes[36] == 0, bytes[37] == 9 {
                    if packet.offloadFlags.contains(.rxL4ChecksumGood) { good += 1 }
                    else if packet.offloadFlags.contains(.rxL4ChecksumNone) { partial += 1 }
                    else { plain += 1 }
                } else if TestFrames.etherType(packet) == TestFrames.controlType,
                    TestFrames.controlText(bytes).hasPrefix("END \(id)") {
                    ended = true
                }
                return false
            }
            if ended && drainUntil == nil { drainUntil = clock.now.advanced(by: .seconds(2)) }
            if let drainUntil, clock.now > drainUntil { break }
        }
        let detail = "\(good) checksum-good, \(partial) partial (NEEDS_CSUM), \(plain) unflagged of \(count) UDP datagrams from the peer's kernel"
        guard good + partial + plain == count, plain == 0 else { throw TestFailure(detail) }
        return detail
    }

    static func fields(_ text: String) -> [String: Int] {
        var result = [String: Int]()
        for word in text.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2, let value = Int(parts[1]) { result[String(parts[0])] = value }
        }
        return result
    }
}

/// io forwarding between two ports, one core per queue pair: queue q of
/// each port forwards to queue q of the other. Stops when the peer's
/// result arrives (as a control frame, on any queue) or at the timeout.
struct Forwarder {
    let ports: [LabPort]
    let queues: Int
    let resultPrefix: String

    final class Shared: @unchecked Sendable {
        let done = ManagedAtomic<Bool>(false)
        var result: String?
        var perQueue: [Int]
        var dropped: [Int]
        let ports: [LabPort]
        init(ports: [LabPort], queues: Int) {
            self.ports = ports
            perQueue = Array(repeating: 0, count: queues)
            dropped = Array(repeating: 0, count: queues)
        }
    }

    func run(timeout: Duration) -> (peer: String?, perQueue: [Int], dropped: [Int]) {
        let shared = Shared(ports: ports, queues: queues)
        let prefix = resultPrefix
        let work: @Sendable (Int) -> Void = { queue in
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: timeout)
            let out = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 32)
            let input = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 32)
            defer { out.deallocate(); input.deallocate() }
            var forwarded = 0
            var dropped = 0
            var iterations = 0
            while !shared.done.load(ordering: .relaxed) {
                for side in 0..<2 {
                    let from = shared.ports[side].device
                    let to = shared.ports[1 - side].device
                    let received = from.receive(queue: queue, into: input)
                    var kept = 0
                    for i in 0..<received {
                        let packet = input[i]
                        if TestFrames.etherType(packet) == TestFrames.controlType {
                            let text = TestFrames.controlText(packet.contents())
                            if text.hasPrefix(prefix) {
                                shared.result = text
                                shared.done.store(true, ordering: .releasing)
                            }
                            packet.free()
                        } else {
                            out[kept] = packet
                            kept += 1
                        }
                    }
                    if kept > 0 {
                        // A full ring waits for the device (QEMU's thread may
                        // be descheduled for a while on a loaded host), bounded.
                        var sent = to.transmit(queue: queue, UnsafeMutableBufferPointer(rebasing: out[..<kept]))
                        if sent < kept {
                            let giveUp = clock.now.advanced(by: .seconds(2))
                            while sent < kept && clock.now < giveUp {
                                sent += to.transmit(queue: queue, UnsafeMutableBufferPointer(rebasing: out[sent..<kept]))
                            }
                        }
                        PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: out[sent..<kept]))
                        forwarded += sent
                        dropped += kept - sent
                    }
                }
                iterations += 1
                if iterations % 1024 == 0 && clock.now > deadline { break }
            }
            shared.perQueue[queue] = forwarded
            shared.dropped[queue] = dropped
        }
        if queues == 1 {
            work(0)
        } else {
            do {
                let cpus = Array(Cores.availableCPUs().prefix(queues))
                let group = try Cores.launch(on: cpus.count == queues ? cpus : Array(repeating: cpus[0], count: queues)) { core in
                    work(core.index)
                }
                group.wait()
            } catch {
                print("could not launch forwarding cores: \(error)")
            }
        }
        return (shared.result, shared.perQueue, shared.dropped)
    }
}
