import Atomics
import Glibc
import Platform
import Synchronization

/// One capture to one file: the file's header blocks, a ring per core
/// that captures (`makeCore`), and a writer thread that moves what the
/// cores recorded to the file in batches, about every millisecond.
///
/// Lifecycle: cores attach their `CoreCapture` to their stack (on their
/// own thread); the capture ends on `stop()`, or when the packet limit is
/// reached; each core lets go of its ring at its next poll turn; the writer
/// then drains what is left, appends an Interface Statistics Block per
/// captured port and closes the file. `wait()` returns after that.
public final class CaptureSession: @unchecked Sendable, CustomStringConvertible {
    public let configuration: CaptureConfiguration
    /// Where the file goes (a path, or the descriptor), for messages.
    public let destination: String
    public let portNames: [String]
    let descriptor: Int32
    let closesDescriptor: Bool
    let clock: TSCClock
    /// Wall-clock nanoseconds at `baseCycles` (pcapng stamps are since the epoch).
    let baseNanoseconds: UInt64
    let baseCycles: UInt64
    /// Packets taken so far (recorded or dropped), counted against the limit.
    let taken = ManagedAtomic<Int>(0)
    let stopRequested = ManagedAtomic<Bool>(false)
    let finished = ManagedAtomic<Bool>(false)
    private let rings = Mutex<[CaptureRing]>([])
    /// Bytes written and write errors, for reports.
    let bytesWritten = ManagedAtomic<Int>(0)
    private let writeError = Mutex<String?>(nil)

    /// Writes the header blocks to `descriptor` and starts the writer.
    /// - Parameter closesDescriptor: close it when the capture ends.
    public init(configuration: CaptureConfiguration, portNames: [String], descriptor: Int32, closesDescriptor: Bool,
                destination: String? = nil, clock: TSCClock = .shared) throws(CaptureError) {
        if let message = configuration.validationError() { throw CaptureError(message) }
        if let ports = configuration.ports, let bad = ports.first(where: { $0 >= portNames.count }) {
            throw CaptureError("port \(bad): this process has ports 0...\(portNames.count - 1)")
        }
        self.configuration = configuration
        self.destination = destination ?? "descriptor \(descriptor)"
        self.portNames = portNames
        self.descriptor = descriptor
        self.closesDescriptor = closesDescriptor
        self.clock = clock
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        baseCycles = TSCClock.cycles()
        baseNanoseconds = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        var header = Pcapng.sectionHeader()
        for name in portNames {
            header += Pcapng.interfaceDescription(name: name, snapLength: configuration.snapLength)
        }
        if let message = writeAll(header) { throw CaptureError("cannot write the capture file: \(message)") }
        do {
            try ServiceThread(name: "dp-capture") { [self] in runWriter() }.detach()
        } catch {
            throw CaptureError("cannot start the capture writer: \(error)")
        }
    }

    /// Opens (creating or truncating) `path` and starts a capture to it.
    public convenience init(configuration: CaptureConfiguration, portNames: [String], path: String) throws(CaptureError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CaptureError("cannot open \(path): \(String(cString: strerror(errno)))") }
        do {
            try self.init(configuration: configuration, portNames: portNames, descriptor: descriptor, closesDescriptor: true,
                          destination: path)
        } catch {
            close(descriptor)
            throw error
        }
    }

    public var description: String {
        let ports = configuration.ports.map { $0.sorted().map { portNames[$0] }.joined(separator: ", ") } ?? "every port"
        return "\(destination) (\(ports), snap length \(configuration.snapLength)"
            + (configuration.packetLimit.map { ", \($0) packets" } ?? "")
            + (configuration.filter == .all ? "" : ", filter '\(configuration.filter)'") + ")"
    }

    /// A recorder for one core's stack. `portOfInterface[i]` is the port
    /// index of the stack's interface i (nil: interface i is port i).
    public func makeCore(portOfInterface: [Int]? = nil) -> CoreCapture {
        let ring = CaptureRing(capacity: configuration.ringBytes, ports: portNames.count)
        rings.withLock { $0.append(ring) }
        return CoreCapture(session: self, ring: ring, portOfInterface: portOfInterface)
    }

    /// Ends the capture at the cores' next poll turns (any thread).
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
    }

    /// Ends the capture when the cores no longer poll (they have returned):
    /// their rings are drained without waiting for them to let go.
    public func stopAfterCoresEnded() {
        for ring in rings.withLock({ $0 }) { ring.detached.store(true, ordering: .releasing) }
        stop()
    }

    /// True once the file is complete and closed.
    public var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Waits until the file is complete (after `stop()`, at most about a
    /// second more); returns a summary.
    @discardableResult
    public func wait() -> CaptureSummary {
        while !isFinished {
            var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
            nanosleep(&pause, nil)
        }
        return summary
    }

    public var summary: CaptureSummary {
        let all = rings.withLock { $0 }
        return CaptureSummary(packets: all.reduce(0) { $0 + Int($1.recorded.load(ordering: .relaxed)) },
                              dropped: all.reduce(0) { $0 + Int($1.dropped.load(ordering: .relaxed)) },
                              bytes: bytesWritten.load(ordering: .relaxed),
                              error: writeError.withLock { $0 },
                              finished: isFinished)
    }

    // MARK: The writer thread

    private func runWriter() {
        var stopSeenAt: UInt64? = nil
        while true {
            let all = rings.withLock { $0 }
            drain(all)
            if stopRequested.load(ordering: .acquiring) {
                let now = TSCClock.monotonicNanoseconds()
                if stopSeenAt == nil { stopSeenAt = now }
                // Cores let go at their next poll turn; one that no longer
                // polls is not waited for past a second.
                if all.allSatisfy({ $0.detached.load(ordering: .acquiring) }) || now - stopSeenAt! > 1_000_000_000 {
                    drain(all)
                    finishFile(all)
                    return
                }
            }
            var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
            nanosleep(&pause, nil)
        }
    }

    private func drain(_ all: [CaptureRing]) {
        for ring in all {
            ring.drain { bytes in
                if let message = writeAll(bytes) { writeError.withLock { if $0 == nil { $0 = message } } }
            }
        }
    }

    private func finishFile(_ all: [CaptureRing]) {
        let stamp = baseNanoseconds + clock.nanoseconds(fromCycles: TSCClock.cycles() &- baseCycles)
        var trailer: [UInt8] = []
        for port in 0..<portNames.count where configuration.ports?.contains(port) ?? true {
            // A core's per-port counts are final once it let go of its ring.
            let settled = all.filter { $0.detached.load(ordering: .acquiring) }
            trailer += Pcapng.interfaceStatistics(
                interface: UInt32(port), nanoseconds: stamp,
                received: settled.reduce(0) { $0 + $1.seen(port: port) },
                dropped: settled.reduce(0) { $0 + $1.droppedOn(port: port) })
        }
        if let message = writeAll(trailer) { writeError.withLock { if $0 == nil { $0 = message } } }
        if closesDescriptor { close(descriptor) }
        finished.store(true, ordering: .releasing)
    }

    /// Writes every byte (retrying short writes and EINTR); an error message or nil.
    func writeAll(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { writeAll($0) }
    }

    func writeAll(_ bytes: UnsafeRawBufferPointer) -> String? {
        var offset = 0
        while offset < bytes.count {
            let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return String(cString: strerror(errno))
            }
            offset += n
        }
        bytesWritten.wrappingIncrement(by: bytes.count, ordering: .relaxed)
        return nil
    }
}

/// What a capture wrote.
public struct CaptureSummary: Sendable, Equatable {
    public var packets: Int
    public var dropped: Int
    public var bytes: Int
    public var error: String?
    public var finished: Bool
}

/// A capture that cannot start: the reason, for the user.
public struct CaptureError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
