import Foundation
import Sockets
import Stack

/// One connection of the one-way transfer services (Tools/demo/tcp_oneway.py
/// is the peer; linux-echo serves the same protocol on the kernel stack):
/// - sink: reads to the end of the stream, keeping the bytes; then answers
///   "COUNT\n" at once (the peer's clock stops there), digests what it got
///   and answers "SHA256HEX\n" (the digest after the clock, on both stacks).
/// - source: reads a request "COUNT\n", sends COUNT bytes of a fixed
///   pseudo-random pattern, then "SHA256HEX\n" of what it sent.
final class TCPOneWay {
    enum Role { case sink, source }
    enum Phase { case request, transfer, digest, closing }

    /// The sink keeps at most this much (the demo sends 100 MB); more is
    /// counted and reported as an overflow instead of a digest.
    static let sinkCapacity = 128 << 20
    /// A prime period, so that the pattern never lines up with segments.
    static let period = 65521

    let role: Role
    private(set) var phase: Phase
    private var storage: UnsafeMutableRawBufferPointer
    private var transferred = 0
    private var wanted = 0
    private var overflow = false
    private var request = [UInt8]()
    private var answer = [UInt8]()
    /// The core's load when the transfer began, to report the core's busy
    /// share over it (CoreLoad): how near saturation the transfer ran it.
    private var loadAtStart: CoreLoad?
    private var loadOverTransfer: CoreLoad?

    /// The sink's storage, kept by the core between transfers, or nil.
    private let keeper: SinkStorage?

    init(role: Role, sinkStorage: SinkStorage? = nil) {
        self.role = role
        phase = role == .sink ? .transfer : .request
        keeper = role == .sink ? sinkStorage : nil
        // The source's pattern twice in a row: any window of up to one
        // period from any offset of the first copy is contiguous.
        storage = keeper?.take() ?? .allocate(byteCount: role == .sink ? Self.sinkCapacity : 2 * Self.period, alignment: 64)
        if role == .source {
            var x: UInt64 = 0x9E37_79B9_7F4A_7C15
            for i in 0..<Self.period {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17  // xorshift64
                storage[i] = UInt8(truncatingIfNeeded: x >> 32)
                storage[i + Self.period] = storage[i]
            }
        }
    }

    deinit {
        if let keeper { keeper.give(storage) } else { storage.deallocate() }
    }

    /// One turn; false when the connection is finished.
    func serve(_ socket: Socket, _ core: SocketCore) throws(SocketError) -> Bool {
        if !answer.isEmpty {
            // Result carries the typed error out of withUnsafeBytes (rethrows).
            let sent = answer.withUnsafeBytes { bytes in
                Result { () throws(SocketError) in try core.send(socket.descriptor, bytes, flags: .noSignal) }
            }
            answer.removeFirst(try sent.get())
            return true
        }
        switch phase {
        case .request: try readRequest(socket)
        case .transfer:
            if loadAtStart == nil { loadAtStart = core.stack.load }
            try role == .sink ? receive(socket) : send(socket, core)
            if phase != .transfer, let start = loadAtStart { loadOverTransfer = core.stack.load.since(start) }
        case .digest:
            // The source digests once the peer has every byte (SIOCOUTQ 0):
            // digesting 100 MB holds this poll loop for seconds, and bytes
            // still queued behind a full transmit ring would wait for it,
            // on the peer's clock. linux-echo's kernel sends on meanwhile.
            if role == .source, try core.bytesUnsent(socket.descriptor) > 0 { return true }
            digest()
        case .closing: return false
        }
        return true
    }

    private func readRequest(_ socket: Socket) throws(SocketError) {
        var byte: UInt8 = 0
        func receiveByte() throws(SocketError) -> Int {
            try withUnsafeMutableBytes(of: &byte) { bytes in
                Result { () throws(SocketError) in try socket.receive(into: bytes).count }
            }.get()
        }
        while try receiveByte() == 1 {
            if byte == UInt8(ascii: "\n") {
                wanted = min(Int(String(decoding: request, as: UTF8.self)) ?? 0, 1 << 30)
                phase = .transfer
                return
            }
            guard request.count < 20 else { phase = .closing; return }
            request.append(byte)
        }
        phase = .closing  // the peer closed before asking
    }

    /// Calls per poll turn: reads of up to 16 x 64 KiB, until the socket has no
    /// more (EAGAIN ends the turn), as linux-echo's blocking reader takes
    /// what is there; one read per turn left a grown window unread.
    static let callsPerTurn = 16

    private func receive(_ socket: Socket) throws(SocketError) {
        for _ in 0..<Self.callsPerTurn {
            // Past the capacity, the last 64 KiB are overwritten and the count goes on.
            let at = min(transferred, Self.sinkCapacity - 65536)
            let n = try socket.receive(into: UnsafeMutableRawBufferPointer(rebasing: storage[at..<at + 65536])).count
            if n == 0 {
                answer = Array("\(transferred)\n".utf8)
                phase = .digest
                return
            }
            transferred += n
            overflow = overflow || transferred > Self.sinkCapacity - 65536
        }
    }

    /// Up to 16 pattern periods per turn, while the send ring takes them whole.
    private func send(_ socket: Socket, _ core: SocketCore) throws(SocketError) {
        for _ in 0..<Self.callsPerTurn {
            let offset = transferred % Self.period
            let count = min(wanted - transferred, Self.period)
            var sent = 0
            if count > 0 {
                let window = UnsafeRawBufferPointer(rebasing: storage[offset..<offset + count])
                sent = try core.send(socket.descriptor, window, flags: .noSignal)
                transferred += sent
            }
            if transferred == wanted { phase = .digest; return }
            if sent < count { return }
        }
    }

    /// After the transfer (and the sink's count answer) left: the digest.
    private func digest() {
        var hash = SHA256()
        if role == .sink {
            hash.update(UnsafeRawBufferPointer(rebasing: storage[0..<min(transferred, Self.sinkCapacity)]))
        } else {
            var left = transferred
            while left > 0 {
                let n = min(left, Self.period)
                hash.update(UnsafeRawBufferPointer(rebasing: storage[0..<n]))
                left -= n
            }
        }
        let hex = overflow ? "overflow" : hash.finishHex()
        answer = Array("\(hex)\n".utf8)
        phase = .closing
        let busy = loadOverTransfer.map { String(format: ", core busy %.1f%% of the transfer", $0.busyFraction * 100) } ?? ""
        let line = "dp-echo: tcp \(role) \(transferred) bytes, sha256 \(hex)\(busy)\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    }
}

/// One core's sink storage, allocated and written once when the service
/// starts, then lent to one sink connection at a time (a second one at
/// once gets its own). A fresh 128 MiB allocation per transfer cost the
/// guest a page fault per 4 KiB (about 24,000 per 100 MB, each zeroing its
/// page) inside the timed transfer, which measures the guest kernel's
/// memory, not TCP; linux-echo keeps its sink storage the same way.
final class SinkStorage {
    private var kept: UnsafeMutableRawBufferPointer?

    init() {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: TCPOneWay.sinkCapacity, alignment: 64)
        storage.initializeMemory(as: UInt8.self, repeating: 0)  // every page faulted in now
        kept = storage
    }

    deinit { kept?.deallocate() }

    func take() -> UnsafeMutableRawBufferPointer? {
        defer { kept = nil }
        return kept
    }

    func give(_ storage: UnsafeMutableRawBufferPointer) {
        if kept == nil { kept = storage } else { storage.deallocate() }
    }
}
