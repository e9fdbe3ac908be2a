import Glibc
import Stack
import SystemPackage

/// Scatter/gather: writev/sendmsg and readv/recvmsg over the socket calls.
/// A stream's buffers are queued in order and sent together (no copy
/// beyond the ring's); a datagram is one message, gathered into (or received whole
/// from) the core's scratch buffer, so it costs one copy more.
extension SocketCore {
    /// UIO_MAXIOV: Linux's limit on buffers per call (EINVAL beyond).
    public static let maximumVectors = 1024

    /// The buffers of a gathered stream send (UIO_MAXIOV of them, allocated at first use, kept).
    var vectorList: UnsafeMutableBufferPointer<UnsafeRawBufferPointer> {
        if let list = vectorListStorage { return list }
        let list = UnsafeMutableBufferPointer<UnsafeRawBufferPointer>.allocate(capacity: Self.maximumVectors)
        vectorListStorage = list
        return list
    }

    var vectorScratch: UnsafeMutableRawBufferPointer {
        if let storage = vectorScratchStorage { return storage }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        vectorScratchStorage = storage
        return storage
    }

    /// The buffers' total length; EINVAL when too many or the sum overflows
    /// ssize_t, EFAULT for a NULL base with a length (Linux).
    public static func totalLength(_ vectors: UnsafeBufferPointer<iovec>) throws(SocketError) -> Int {
        guard vectors.count <= maximumVectors else {
            throw SocketError(.invalidArgument, "\(vectors.count) buffers: at most \(maximumVectors) (UIO_MAXIOV)")
        }
        var total = 0
        for vector in vectors {
            guard vector.iov_base != nil || vector.iov_len == 0 else { throw SocketError(.badAddress, "an iov_base is NULL") }
            let (sum, overflow) = total.addingReportingOverflow(Int(bitPattern: UInt(vector.iov_len)))
            guard !overflow, sum >= 0 else { throw SocketError(.invalidArgument, "the buffers' lengths overflow ssize_t") }
            total = sum
        }
        return total
    }

    /// writev / sendmsg.
    public func send(_ descriptor: Int32, vectors: UnsafeBufferPointer<iovec>, flags: MessageFlags = [],
                     to destination: IPv4SocketAddress? = nil) throws(SocketError) -> Int {
        try send(descriptor, vectors: vectors, flags: flags, destination: destination.map { .v4($0) })
    }

    /// sendmsg with an address of either family (see `send(_:_:flags:destination:)`).
    public func send(_ descriptor: Int32, vectors: UnsafeBufferPointer<iovec>, flags: MessageFlags = [],
                     destination: InternetSocketAddress?) throws(SocketError) -> Int {
        let total = try Self.totalLength(vectors)
        let (_, entry) = try entry(descriptor)
        if vectors.count == 1 || total == 0 {
            let first = vectors.first.map { UnsafeRawBufferPointer(start: $0.iov_base, count: $0.iov_len) }
            return try send(descriptor, first ?? UnsafeRawBufferPointer(start: nil, count: 0), flags: flags, destination: destination)
        }
        if entry.kind == .datagram {
            guard total <= vectorScratch.count else {
                throw SocketError(.messageTooLong, "a UDP datagram carries at most \(NetStack.maximumUDPPayload) bytes, not \(total)")
            }
            var offset = 0
            for vector in vectors where vector.iov_len > 0 {
                (vectorScratch.baseAddress! + offset).copyMemory(from: vector.iov_base!, byteCount: vector.iov_len)
                offset += vector.iov_len
            }
            return try send(descriptor, UnsafeRawBufferPointer(rebasing: vectorScratch[0..<total]), flags: flags, destination: destination)
        }
        // A stream: the buffers queued in order and TCP's output run once
        // (send(_:gathering:)), so a head and a body leave together.
        let list = vectorList
        var count = 0
        for vector in vectors where vector.iov_len > 0 {
            list[count] = UnsafeRawBufferPointer(start: vector.iov_base, count: vector.iov_len)
            count += 1
        }
        return try send(descriptor, gathering: UnsafeBufferPointer(rebasing: list[0..<count]), flags: flags)
    }

    /// readv / recvmsg. A stream fills the buffers in order and stops at the
    /// first short one (later buffers never wait, unless MSG_WAITALL); with
    /// MSG_PEEK, or for a datagram, the data is received into the scratch
    /// buffer and scattered. `fullLength` is the datagram's real length.
    public func receive(_ descriptor: Int32, vectors: UnsafeBufferPointer<iovec>,
                        flags: MessageFlags = []) throws(SocketError) -> ReceiveResult {
        let total = try Self.totalLength(vectors)
        let (_, entry) = try entry(descriptor)
        if vectors.count <= 1 {
            let first = vectors.first.map { UnsafeMutableRawBufferPointer(start: $0.iov_base, count: $0.iov_len) }
            return try receive(descriptor, into: first ?? UnsafeMutableRawBufferPointer(start: nil, count: 0), flags: flags)
        }
        if entry.kind == .datagram || flags.contains(.peek) {
            let room = UnsafeMutableRawBufferPointer(rebasing: vectorScratch[0..<min(total, vectorScratch.count)])
            var result = try receive(descriptor, into: room, flags: flags.subtracting(.truncate))
            scatter(UnsafeRawBufferPointer(rebasing: vectorScratch[0..<min(result.count, room.count)]), vectors)
            if flags.contains(.truncate) && entry.kind == .datagram { result.count = result.fullLength }
            return result
        }
        var result = ReceiveResult(count: 0, fullLength: 0, source: nil)
        for vector in vectors where vector.iov_len > 0 {
            let room = UnsafeMutableRawBufferPointer(start: vector.iov_base, count: vector.iov_len)
            let later = result.count > 0 && !flags.contains(.waitAll)
            do {
                let part = try receive(descriptor, into: room, flags: later ? flags.union(.dontWait) : flags)
                result.count += part.count
                result.source = part.source
                if part.count < room.count { break }
            } catch {
                if result.count > 0 { break }
                throw error
            }
        }
        result.fullLength = result.count
        return result
    }

    private func scatter(_ bytes: UnsafeRawBufferPointer, _ vectors: UnsafeBufferPointer<iovec>) {
        var offset = 0
        for vector in vectors where vector.iov_len > 0 && offset < bytes.count {
            let count = min(vector.iov_len, bytes.count - offset)
            vector.iov_base!.copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
            offset += count
        }
    }
}
