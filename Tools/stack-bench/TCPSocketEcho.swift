import CPlatform
import Foundation
import MallocInterposerSwift
import NetDevice
import Ports
import Packets
import Platform
import Sockets
import Stack
import TCP
import Wire

/// TCP echo through the socket layer: a client socket on one core writes
/// `writeSize` bytes at a time, a server socket on another core (same
/// thread, two NetStacks over a LoopbackPair) reads them and writes them
/// back, the client reads the echo. Both directions carry every byte, with
/// non-blocking send/recv as an event-driven server does them. Mallocs are
/// counted in the steady state (after a warm-up) by the interposer.
struct TCPSocketEcho {
    let writeSize: Int
    let warmupBytes: Int
    let measuredBytes: Int
    /// Off when several echoes run at once (the interposer counts process-wide).
    var countsMallocs = true
    /// The server waits in an epoll set (edge-triggered, with a kernel pipe
    /// beside its socket) and writes back with writev.
    var usesEpoll = false
    /// The client lends its writes to the send ring (`SocketCore.send(_:borrowing:)`,
    /// as DataplaneNIO sends its ByteBuffers) instead of having them copied.
    var lendsWrites = false
    /// Both stacks keep received payloads in their packet buffers (`TCPConfiguration.receiveLending`).
    var receiveLending = false
    /// One way only: the client writes, the server reads and discards (the
    /// receive path isolated, as a bulk download); nothing is echoed back.
    var oneWay = false
    /// Called after the warm-up, just before measuring (a start line for parallel runs).
    var beforeMeasuring: () -> Void = {}

    struct Result {
        var bytesEchoed = 0
        var segments = 0
        /// Of the segments received, those merged into an earlier one (GRO).
        var coalesced = 0
        /// Segments the server's stack received while measuring (one way: the data segments).
        var serverReceived = 0
        /// The same since the connection opened (warm-up included: what `*serverTurn*` counts).
        var serverReceivedTotal = 0
        var seconds = 0.0
        var mallocs = 0
        var mallocBytes = 0
        var frees = 0
        /// Bytes copied into the rings (both stacks) while measuring.
        var receiveBytesCopied = 0
        var sendBytesCopied = 0
        /// Growth of the ring chunk memory both stacks' caches hold from the system, in the warm-up and while measuring (bytes).
        var warmupChunkAllocations = 0
        var chunkAllocations = 0
        var mallocsPerSegment: Double { Double(mallocs) / Double(max(segments, 1)) }
    }

    /// The two cores and the connection between them.
    final class Link {
        let ports: StartedPorts
        let client: SocketCore
        let server: SocketCore
        let clientSocket: Int32
        let serverSocket: Int32

        init(receiveLending: Bool = false) throws {
            ports = try PortBringUp.startLoopbackPair(ringSize: 1024, pool: PoolRequest(name: "tcp-socket-echo", capacity: 8192))
            var tcp = TCPConfiguration()
            tcp.receiveLending = receiveLending
            let stacks = (NetStack(pool: ports.pool, tcpConfiguration: tcp), NetStack(pool: ports.pool, tcpConfiguration: tcp))
            try ports.attach(0, to: stacks.0, InterfaceConfiguration(address: IPv4Network("10.0.0.1/24")!, announceOnStart: false))
            try ports.attach(1, to: stacks.1, InterfaceConfiguration(address: IPv4Network("10.0.0.2/24")!, announceOnStart: false))
            stacks.0.start()
            stacks.1.start()
            // Room for the connection's two full rings (plus a chunk of slack
            // each) at the most auto-tuning grows them to, from the start:
            // the rings' high-water mark depends on timing, and a new one
            // after the warm-up would allocate once (a chunk, or the header
            // of a lent write's chunk).
            let ringBytes = 2 * (2 * tcp.maximumGrownBufferSize + tcp.ringChunkSize)
            stacks.0.reserveTCPRingMemory(bytes: ringBytes)
            stacks.1.reserveTCPRingMemory(bytes: ringBytes)
            var configuration = SocketCoreConfiguration()
            configuration.raisesSIGPIPE = false
            let group = SocketGroup()
            client = try SocketCore(stack: stacks.0, group: group, configuration: configuration)
            server = try SocketCore(stack: stacks.1, group: group, configuration: configuration)
            let listener = try server.socket(domain: AF_INET, type: Int32(SOCK_STREAM.rawValue), protocol: 0)
            try server.bind(listener, to: IPv4SocketAddress(.any, 7))
            try server.listen(listener, backlog: 1)
            try server.setNonBlocking(listener, true)
            clientSocket = try client.socket(domain: AF_INET, type: Int32(SOCK_STREAM.rawValue), protocol: 0)
            try client.setNonBlocking(clientSocket, true)
            // Non-blocking: EINPROGRESS, then the pump below completes the handshake.
            let started = Swift.Result { [client, clientSocket] () throws(SocketError) in
                try client.connect(clientSocket, to: .inet(IPv4SocketAddress(IPv4Address(10, 0, 0, 2), 7)))
            }
            if case .failure(let error) = started, error.errno != .nowInProgress { throw error }
            let server = server, client = client
            var accepted: Int32?
            _ = Self.pump(client, server) {
                accepted = accepted ?? (try? server.accept(listener))?.descriptor
                return accepted != nil
            }
            guard let accepted else { throw SocketError(.timedOut, "accept found no connection") }
            serverSocket = accepted
            try server.setNonBlocking(serverSocket, true)
        }

        /// Bytes of ring chunks both stacks' caches hold from the system now.
        var chunkAllocations: Int {
            client.stack.tcpRingMemory.fromSystem + server.stack.tcpRingMemory.fromSystem
        }
        /// Bytes both stacks copied into receive and send rings so far.
        var copied: (receive: Int, send: Int) {
            let a = client.stack.tcpConnectionTotals, b = server.stack.tcpConnectionTotals
            return (a.receiveBytesCopied + b.receiveBytesCopied, a.sendBytesCopied + b.sendBytesCopied)
        }

        var epoll: EpollSet?
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: 8)
        var pipeEnds: [Int32] = [-1, -1]
        /// A lent write.
        let lent = UnsafeMutablePointer<TCPBorrowedBytes>.allocate(capacity: 1)

        deinit {
            epoll?.close()
            events.deallocate()
            lent.deallocate()
            for end in pipeEnds where end >= 0 { close(end) }
        }

        /// The server's socket in an edge-triggered epoll set, a kernel pipe beside it.
        func watchServer() throws {
            let set = try EpollSet.create(flags: 0)
            epoll = set
            guard pipe(&pipeEnds) == 0 else { throw SocketError(.tooManyOpenFiles, "pipe failed") }
            var event = epoll_event()
            event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLET.rawValue
            try set.control(EPOLL_CTL_ADD, serverSocket, &event)
            event.events = EPOLLIN.rawValue
            try set.control(EPOLL_CTL_ADD, pipeEnds[0], &event)
        }

        /// Runs both cores until `done` (false after 5 s).
        static func pump(_ a: SocketCore, _ b: SocketCore, until done: () -> Bool) -> Bool {
            let deadline = TSCClock.monotonicNanoseconds() + 5_000_000_000
            while !done() {
                if TSCClock.monotonicNanoseconds() > deadline { return false }
                a.runOnce()
                b.runOnce()
            }
            return true
        }
    }

    /// Client and server buffers and progress of the echo.
    struct Buffers {
        let outgoing: UnsafeMutableRawBufferPointer
        let serverRoom: UnsafeMutableRawBufferPointer
        let incoming: UnsafeMutableRawBufferPointer
        var serverPending = 0
        var serverPendingOffset = 0

        init(writeSize: Int) {
            outgoing = .allocate(byteCount: writeSize, alignment: 64)
            for i in 0..<writeSize { outgoing[i] = UInt8(truncatingIfNeeded: i &* 31) }
            serverRoom = .allocate(byteCount: 256 * 1024, alignment: 64)
            incoming = .allocate(byteCount: 256 * 1024, alignment: 64)
        }

        func deallocate() {
            outgoing.deallocate()
            serverRoom.deallocate()
            incoming.deallocate()
        }
    }

    func run() throws -> Result {
        let link = try Link(receiveLending: receiveLending)
        if usesEpoll { try link.watchServer() }
        var buffers = Buffers(writeSize: writeSize)
        defer { buffers.deallocate() }
        let chunksAtStart = link.chunkAllocations
        _ = try echo(link, &buffers, bytes: warmupBytes)
        let chunksBefore = link.chunkAllocations
        let copiedBefore = link.copied
        let segmentsBefore = Int(link.client.stack.counters[.tcpSent] + link.server.stack.counters[.tcpSent])
        let coalescedBefore = Int(link.client.stack.counters[.tcpCoalesced] + link.server.stack.counters[.tcpCoalesced])
        let serverReceivedBefore = Int(link.server.stack.counters[.tcpReceived])
        beforeMeasuring()
        if countsMallocs { MallocInterposerSwift.initialize() }
        let start = TSCClock.monotonicNanoseconds()
        if countsMallocs { MallocInterposerSwift.hook() }
        let echoed = try measure(link, &buffers)
        if countsMallocs { MallocInterposerSwift.unhook() }
        let statistics = countsMallocs ? MallocInterposerSwift.getStatistics() : .init()
        var result = Result()
        result.seconds = Double(TSCClock.monotonicNanoseconds() - start) / 1e9
        result.bytesEchoed = echoed
        result.segments = Int(link.client.stack.counters[.tcpSent] + link.server.stack.counters[.tcpSent]) - segmentsBefore
        result.coalesced = Int(link.client.stack.counters[.tcpCoalesced] + link.server.stack.counters[.tcpCoalesced]) - coalescedBefore
        result.serverReceived = Int(link.server.stack.counters[.tcpReceived]) - serverReceivedBefore
        result.serverReceivedTotal = Int(link.server.stack.counters[.tcpReceived])
        result.mallocs = statistics.mallocCount
        result.mallocBytes = statistics.mallocBytesCount
        result.frees = statistics.freeCount
        result.warmupChunkAllocations = chunksBefore - chunksAtStart
        result.chunkAllocations = link.chunkAllocations - chunksBefore
        result.receiveBytesCopied = link.copied.receive - copiedBefore.receive
        result.sendBytesCopied = link.copied.send - copiedBefore.send
        return result
    }

    /// The measured run, a function of its own (never inlined) so that
    /// `valgrind --tool=callgrind --toggle-collect='*TCPSocketEcho*measure*'`
    /// counts only it (one way, `*serverTurn*` counts the receiver in it).
    @inline(never)
    private func measure(_ link: Link, _ buffers: inout Buffers) throws -> Int {
        try echo(link, &buffers, bytes: measuredBytes)
    }

    /// Echoes `bytes` (rounded up to whole writes); returns the bytes that came
    /// back (one way: the bytes the server read).
    private func echo(_ link: Link, _ buffers: inout Buffers, bytes: Int) throws -> Int {
        var written = 0
        var echoed = 0
        let deadline = TSCClock.monotonicNanoseconds() + 120_000_000_000
        while echoed < bytes {
            guard TSCClock.monotonicNanoseconds() < deadline else {
                throw SocketError(.timedOut, "the echo stalled at \(echoed) of \(bytes) bytes")
            }
            if oneWay {
                written += try clientTurn(link, buffers, room: written < bytes && written - echoed < 512 * 1024)
                echoed += try serverTurn(link, buffers)
                continue
            }
            if written < bytes, written - echoed < 512 * 1024 {
                written += lendsWrites ? try sendLent(link, UnsafeRawBufferPointer(buffers.outgoing))
                    : try sendSome(link.client, link.clientSocket, UnsafeRawBufferPointer(buffers.outgoing))
            }
            link.client.runOnce()
            link.server.runOnce()
            try serve(link, &buffers)
            echoed += try receiveAll(link.client, link.clientSocket, into: buffers.incoming)
        }
        return echoed
    }

    /// One way, the sending side's turn: a write when there is room, then
    /// its core's poll step. Never inlined, as `serverTurn`, so that
    /// callgrind's `--toggle-collect='*serverTurn*'` counts the receiving
    /// side alone (driver, IP, GRO, TCP input, ACKs out, recv copies).
    @inline(never)
    private func clientTurn(_ link: Link, _ buffers: Buffers, room: Bool) throws -> Int {
        let written = room ? try sendSome(link.client, link.clientSocket, UnsafeRawBufferPointer(buffers.outgoing)) : 0
        link.client.runOnce()
        return written
    }

    /// One way, the receiving side's turn: its core's poll step, then reads
    /// until EAGAIN; the bytes read.
    @inline(never)
    private func serverTurn(_ link: Link, _ buffers: Buffers) throws -> Int {
        link.server.runOnce()
        return try receiveAll(link.server, link.serverSocket, into: buffers.serverRoom)
    }

    /// The server's turn: write back what is pending, then read more.
    private func serve(_ link: Link, _ buffers: inout Buffers) throws {
        // Edge-triggered: the wait reports what changed; the server then
        // drains and writes until EAGAIN, as an epoll server does.
        if let epoll = link.epoll { _ = try epoll.wait(link.events, capacity: 8, timeoutMilliseconds: 0) }
        while true {
            if buffers.serverPending > 0 {
                let rest = UnsafeRawBufferPointer(rebasing: buffers.serverRoom[buffers.serverPendingOffset..<buffers.serverPendingOffset + buffers.serverPending])
                let sent = link.epoll == nil ? try sendSome(link.server, link.serverSocket, rest)
                    : try sendVector(link.server, link.serverSocket, rest)
                buffers.serverPending -= sent
                buffers.serverPendingOffset += sent
                if buffers.serverPending > 0 { return }
            }
            let count = try receiveAll(link.server, link.serverSocket, into: buffers.serverRoom, once: true)
            if count == 0 { return }
            buffers.serverPending = count
            buffers.serverPendingOffset = 0
        }
    }

    /// A non-blocking send: the bytes taken (0 when the buffer is full).
    private func sendSome(_ core: SocketCore, _ socket: Int32, _ bytes: UnsafeRawBufferPointer) throws -> Int {
        do throws(SocketError) {
            return try core.send(socket, bytes)
        } catch {
            guard error.errno == .resourceTemporarilyUnavailable else { throw error }
            return 0
        }
    }

    /// A non-blocking send that lends the bytes (the same unchanging buffer
    /// each time; the ring releases each lent write once it is acknowledged).
    private func sendLent(_ link: Link, _ bytes: UnsafeRawBufferPointer) throws -> Int {
        link.lent.initialize(to: TCPBorrowedBytes(bytes: bytes, release: countRelease, context: UnsafeMutableRawPointer(lentWritesReleased)))
        do throws(SocketError) {
            return try link.client.send(link.clientSocket, borrowing: UnsafeBufferPointer(start: link.lent, count: 1)).bytes
        } catch {
            guard error.errno == .resourceTemporarilyUnavailable else { throw error }
            return 0
        }
    }

    /// writev of one buffer split in two (the header/body shape of a server's writes).
    private func sendVector(_ core: SocketCore, _ socket: Int32, _ bytes: UnsafeRawBufferPointer) throws -> Int {
        let half = bytes.count / 2
        var vectors = (iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: half),
                       iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress.map { $0 + half }), iov_len: bytes.count - half))
        return try withUnsafeBytes(of: &vectors) { raw in
            let list = UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: iovec.self), count: 2)
            do throws(SocketError) {
                return try core.send(socket, vectors: list)
            } catch {
                guard error.errno == .resourceTemporarilyUnavailable else { throw error }
                return 0
            }
        }
    }

    /// Non-blocking reads until nothing is waiting (or one read with `once`).
    private func receiveAll(_ core: SocketCore, _ socket: Int32, into buffer: UnsafeMutableRawBufferPointer,
                            once: Bool = false) throws -> Int {
        var total = 0
        while true {
            do throws(SocketError) {
                let count = try core.receive(socket, into: buffer).count
                if count == 0 { throw SocketError(.connectionReset, "the peer closed the echo connection") }
                total += count
                if once { return total }
            } catch {
                guard error.errno == .resourceTemporarilyUnavailable else { throw error }
                return total
            }
        }
    }
}

/// Lent writes the rings released. Process-wide and never freed: a ring
/// still holding lent writes releases them when its connection is freed,
/// which is after the `Link` that made them is gone.
nonisolated(unsafe) private let lentWritesReleased: UnsafeMutablePointer<Int> = {
    let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    counter.initialize(to: 0)
    return counter
}()

/// Counts a lent write's release (a C function, as the ring calls it).
private let countRelease: @convention(c) (UnsafeMutableRawPointer?) -> Void = { context in
    context!.assumingMemoryBound(to: Int.self).pointee += 1
}
