import SystemPackage

/// The async calls: run in a task on the core's executor (start it with
/// `core.task { ... }` or `withTaskExecutorPreference(core.executor)`);
/// each tries the non-blocking call and, on EAGAIN, suspends until the
/// poll loop sees the socket change. No thread hop and no lock: the
/// continuation is resumed on the core's thread, in its loop.
extension Socket {
    public func accept() async throws(SocketError) -> (socket: Socket, peer: IPv4SocketAddress) {
        while true {
            do {
                let (fd, peer) = try core.accept(descriptor, nonBlocking: true)
                return (Socket(descriptor: fd, core: core), peer)
            } catch where error.errno == .resourceTemporarilyUnavailable {
                try await core.waitForChange(descriptor)
            }
        }
    }

    public func connect(_ address: IPv4SocketAddress) async throws(SocketError) {
        try await connectAsync(.inet(address))
    }

    func connectAsync(_ address: ConnectAddress) async throws(SocketError) {
        let wasNonBlocking = try core.isNonBlocking(descriptor)
        try core.setNonBlocking(descriptor, true)
        defer { try? core.setNonBlocking(descriptor, wasNonBlocking) }
        do {
            try core.connect(descriptor, to: address)
            return
        } catch where error.errno == .nowInProgress || error.errno == .alreadyInProcess {}
        while try core.isConnecting(descriptor) {
            try await core.waitForChange(descriptor)
        }
        try core.throwConnectResult(descriptor)
    }

    /// Receives up to `maximum` bytes (an empty array at the end of a TCP stream).
    public func receive(maximum: Int = 65_536, flags: MessageFlags = []) async throws(SocketError) -> (bytes: [UInt8], source: IPv4SocketAddress?) {
        while true {
            do {
                return try receiveNow(maximum: maximum, flags: flags.union(.dontWait))
            } catch where error.errno == .resourceTemporarilyUnavailable {
                try await core.waitForChange(descriptor)
            }
        }
    }

    /// Receives into the caller's buffer (no allocation): the count, the
    /// datagram's full length and its source; 0 at the end of a TCP stream.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, flags: MessageFlags = []) async throws(SocketError) -> ReceiveResult {
        while true {
            do {
                return try core.receive(descriptor, into: buffer, flags: flags.union(.dontWait))
            } catch where error.errno == .resourceTemporarilyUnavailable {
                try await core.waitForChange(descriptor)
            }
        }
    }

    /// Sends all of `bytes` from the caller's memory (no copy; TCP suspends
    /// while the send buffer is full). `flags`: `.noSignal` makes a send on
    /// an ended connection only throw EPIPE, without raising SIGPIPE.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, flags: MessageFlags = [], to: IPv4SocketAddress? = nil) async throws(SocketError) -> Int {
        var sent = 0
        repeat {
            do {
                sent += try core.send(descriptor, UnsafeRawBufferPointer(rebasing: bytes[sent...]), flags: flags.union(.dontWait), to: to)
            } catch where error.errno == .resourceTemporarilyUnavailable {
                try await core.waitForChange(descriptor)
            }
        } while sent < bytes.count
        return sent
    }

    /// Sends all of `bytes` (TCP: suspends while the send buffer is full;
    /// `flags` as above).
    @discardableResult
    public func send(_ bytes: [UInt8], flags: MessageFlags = [], to: IPv4SocketAddress? = nil) async throws(SocketError) -> Int {
        var sent = 0
        while sent < bytes.count || (bytes.isEmpty && sent == 0) {
            do {
                sent += try sendNow(bytes[sent...], flags: flags.union(.dontWait), to: to)
                if bytes.isEmpty { return 0 }
            } catch where error.errno == .resourceTemporarilyUnavailable {
                try await core.waitForChange(descriptor)
            }
        }
        return sent
    }
}

extension SocketCore {
    /// Suspends the current task until the socket may have changed (a TCP
    /// event, a datagram, close). Must run on this core's executor.
    func waitForChange(_ descriptor: Int32) async throws(SocketError) {
        let (slot, entry) = try entry(descriptor)
        if entry.kind == .datagram { udpWaiting.insert(slot) }
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            entry.waiters.append(continuation)
        }
        if takeInterrupt() { throw SocketError(.interrupted, "the wait was interrupted (SocketCore.interrupt)") }
    }

    /// Starts `body` as a task on this core's executor.
    @discardableResult
    public func task<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Task<T, Error> {
        Task(executorPreference: executor) { try await body() }
    }

    func isConnecting(_ descriptor: Int32) throws(SocketError) -> Bool {
        try entry(descriptor).entry.connecting
    }

    func throwConnectResult(_ descriptor: Int32) throws(SocketError) {
        let (_, entry) = try entry(descriptor)
        if let error = takeConnectionError(entry) { throw error }
    }

    /// accept with a per-call non-blocking override (for the async variant).
    func accept(_ descriptor: Int32, nonBlocking: Bool) throws(SocketError) -> (descriptor: Int32, peer: IPv4SocketAddress) {
        let (_, entry) = try entry(descriptor)
        let saved = entry.nonBlocking
        entry.nonBlocking = nonBlocking || saved
        defer { entry.nonBlocking = saved }
        return try accept(descriptor)
    }
}

extension Socket {
    func receiveNow(maximum: Int, flags: MessageFlags) throws(SocketError) -> (bytes: [UInt8], source: IPv4SocketAddress?) {
        try receive(maximum: maximum, flags: flags)
    }

    func sendNow(_ bytes: ArraySlice<UInt8>, flags: MessageFlags, to: IPv4SocketAddress?) throws(SocketError) -> Int {
        try send(bytes, flags: flags, to: to)
    }
}
