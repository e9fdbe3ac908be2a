import Glibc
import Stack

/// poll(2) event bits (the kernel's values).
public struct PollEvents: OptionSet, Sendable, Hashable {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    public static let input = PollEvents(rawValue: Int16(POLLIN))
    /// Urgent data: never reported (MSG_OOB is not supported), accepted in masks.
    public static let priority = PollEvents(rawValue: Int16(POLLPRI))
    public static let output = PollEvents(rawValue: Int16(POLLOUT))
    public static let error = PollEvents(rawValue: Int16(POLLERR))
    public static let hangUp = PollEvents(rawValue: Int16(POLLHUP))
    public static let invalid = PollEvents(rawValue: Int16(POLLNVAL))
    public static let readHangUp = PollEvents(rawValue: 0x2000)  // POLLRDHUP
    /// Always reported when they hold, asked for or not.
    static let unmaskable: PollEvents = [.error, .hangUp, .invalid]
}

extension SocketCore {
    /// What a socket is ready for now.
    func readiness(_ entry: SocketEntry) -> PollEvents {
        var result: PollEvents = []
        if entry.pendingError != nil { result.insert(.error) }
        switch entry.kind {
        case .datagram:
            if entry.peeked != nil { result.insert(.input) }
            if let udp = entry.udp {
                let ready = stack.udpReadiness(udp)
                if ready.contains(.readable) { result.insert(.input) }
                if ready.contains(.error) { result.insert(.error) }
            }
            if !entry.shutWrite { result.insert(.output) }
            if entry.shutRead { result.insert(.input) }
        case .stream:
            if let listener = entry.listener {
                if stack.tcpAcceptQueueLength(listener) > 0 { result.insert(.input) }
                return result
            }
            guard let id = entry.connection else {
                // Never connected: Linux reports POLLOUT | POLLHUP.
                return result.union([.output, .hangUp])
            }
            guard let status = stack.tcpStatus(id) else { return result.union([.input, .hangUp]) }
            if status.bytesReadable > 0 || status.isAtEndOfStream || entry.shutRead { result.insert(.input) }
            if status.isAtEndOfStream { result.insert(.readHangUp) }
            switch status.state.phase {
            case .opening, .closing:
                break
            case .closed:
                result.formUnion([.input, .output, .hangUp])
                if status.failure != nil && !entry.connectionEnded { result.insert(.error) }
            case .open:
                if status.sendSpace > 0 && !entry.shutWrite { result.insert(.output) }
            }
        }
        return result
    }

    /// poll(): fills `revents` of each pollfd with our descriptors'
    /// readiness (and kernel descriptors' as the kernel reports them, looked
    /// at with a zero timeout on each turn); waits up to `timeoutMilliseconds` (-1 forever, 0 not at
    /// all) while the core keeps running. Returns how many have events.
    public func poll(_ items: UnsafeMutableBufferPointer<pollfd>, timeoutMilliseconds: Int32) throws(SocketError) -> Int {
        func scan() -> Int {
            var ready = 0
            for i in items.indices {
                items[i].revents = 0
                guard items[i].fd >= 0 else { continue }
                if SocketDescriptor.decode(items[i].fd) == nil {
                    // A kernel descriptor: the kernel's answer, without waiting.
                    if Glibc.poll(items.baseAddress! + i, 1, 0) > 0 { ready += 1 }
                    continue
                }
                let events: PollEvents
                if let (slot, entry) = try? entry(items[i].fd) {
                    _ = slot
                    events = readiness(entry).intersection(PollEvents(rawValue: items[i].events).union(.unmaskable))
                } else {
                    events = .invalid
                }
                items[i].revents = events.rawValue
                if !events.isEmpty { ready += 1 }
            }
            return ready
        }
        progress()
        var ready = scan()
        if ready > 0 || timeoutMilliseconds == 0 { return ready }
        let timeout = timeoutMilliseconds < 0 ? 0 : UInt64(timeoutMilliseconds) * 1_000_000
        do {
            try block(timeoutNanoseconds: timeout, "poll") { () throws(SocketError) -> Bool in
                ready = scan()
                return ready > 0
            }
        } catch {
            if error.errno == .resourceTemporarilyUnavailable { return 0 }
            throw error
        }
        return ready
    }

    /// Makes an epoll-like interest set on this core.
    public func makeInterestSet() -> SocketInterestSet { SocketInterestSet(core: self) }
}
