// README.md's "Use it from Swift" examples and Docs/SWIFT.md's "Lower
// layers", line for line, so that the build checks them. Compiled, never called: each serves a tap forever; the same
// calls run in UmbrellaImportTests (blocking) and ServeTests (serve).
import Dataplane
import Glibc

enum ReadmeExamples {
    static func plainSockets() throws {
        let ports = try PortBringUp.start([PortSpec("tap:dp0")!], pool: PoolRequest(name: "echo", capacity: 4096))
        let stack = NetStack(pool: ports.pool)
        try ports.attach(0, to: stack, InterfaceConfiguration(address: IPv4Network("10.0.0.2/24")!))
        stack.start()
        let sockets = try SocketCore(stack: stack)     // this thread's socket table

        let listener = try Socket(.stream, on: sockets)
        try listener.bind(port: 7)
        try listener.listen()
        while true {                                   // a blocking call polls the stack while it waits
            let (connection, _) = try listener.accept()
            while case let (bytes, _) = try connection.receive(), !bytes.isEmpty { try connection.send(bytes) }
            try connection.close()
        }
    }

    static func asyncOnCores() throws {
        let dataplane = try DataplaneCores(arguments: ["--tap", "dp0", "--ip", "10.0.0.2/24", "--cores", "2"])
        try dataplane.serve { core, sockets in            // on every core, on that core's thread
            let listener = try Socket(.stream, on: sockets)
            try listener.setOption(level: SOL_SOCKET, name: SO_REUSEPORT, 1)  // a listener per core, one port
            try listener.bind(port: 7)
            try listener.listen()
            while true {
                let (connection, _) = try await listener.accept()
                sockets.task {                             // a task per connection, on this core
                    defer { try? connection.close() }      // (an error ends this task, not the server)
                    while case let (bytes, _) = try await connection.receive(), !bytes.isEmpty {
                        try await connection.send(bytes, flags: .noSignal)
                    }
                }
            }
        }
    }

    static func lowerLayers() throws {
        // 8192 packet buffers in hugepages, IOVA = virtual address (VFIO).
        let pool = try PacketPool(name: "rx", capacity: 8192, policy: .hugepagesRequired, iovaMode: .virtual)
        // A burst array, allocated once outside the fast path.
        let burst = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 32)
        let got = pool.allocate(into: burst)   // fewer when the pool runs low (counted)
        PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: burst[0..<got]))
    }
}
