import Glibc
import Sockets
import Wire

// Socket calls of a fuzz program. Every socket is non-blocking (a blocking
// call would hang the run), and no call may block: no SO_LINGER with a
// time, no MSG_WAITALL. Errors are the expected answers to most random
// calls; only a crash or a broken invariant is a finding.
extension StackFuzzWorld {
    func socketCall(_ input: inout FuzzBytes) {
        let call = input.u8()
        let which = Int(input.u8())
        let descriptor: Int32? = descriptors.isEmpty ? nil : descriptors[which % descriptors.count]
        switch call % 12 {
        case 0, 1:
            guard let made = try? core.socket(domain: AF_INET, type: Int32(call % 2 == 0 ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue),
                                               protocol: 0) else { return }
            try? core.setNonBlocking(made, true)
            descriptors.append(made)
        case 2:
            guard let descriptor else { return }
            try? core.bind(descriptor, to: IPv4SocketAddress(call & 0x80 != 0 ? .any : Self.stackAddress,
                                                               Self.ports[which % Self.ports.count]))
        case 3:
            guard let descriptor else { return }
            try? core.listen(descriptor, backlog: Int(call >> 4))
        case 4:
            guard let descriptor else { return }
            let port = call & 0x80 != 0 ? input.u16() : 40_000 &+ UInt16(call >> 4 & 7)
            try? core.connect(descriptor, to: .inet(IPv4SocketAddress(Self.host(call >> 4), port)))
        case 5:
            guard let descriptor, let (accepted, _) = try? core.accept(descriptor) else { return }
            try? core.setNonBlocking(accepted, true)
            descriptors.append(accepted)
        case 6, 7:
            guard let descriptor else { return }
            let bytes = input.payload(Int(input.u16() % 20_000))
            let destination = call & 0x80 != 0 ? IPv4SocketAddress(Self.host(call >> 4), 40_000) : nil
            _ = try? core.send(descriptor, bytes, to: destination)
        case 8, 9:
            guard let descriptor else { return }
            let flags: MessageFlags = call & 0x80 != 0 ? .peek : (call & 0x40 != 0 ? .truncate : [])
            let buffer = UnsafeMutableRawBufferPointer(rebasing: Self.receiveBuffer[0..<Int(input.u16() % 20_000)])
            _ = try? core.receive(descriptor, into: buffer, flags: flags)
        case 10:
            guard let descriptor else { return }
            if call & 0x80 != 0 {
                try? core.shutdown(descriptor, how: Int32(call >> 4 & 3) % 3)
            } else {
                try? core.close(descriptor)
                descriptors.removeAll { $0 == descriptor }
            }
        default:
            guard let descriptor else { return }
            setOption(descriptor, call >> 4, value: Int32(input.u16()))
        }
    }

    private func setOption(_ descriptor: Int32, _ which: UInt8, value: Int32) {
        func set<T>(_ level: Int32, _ name: Int32, _ option: T) {
            var option = option
            try? withUnsafeBytes(of: &option) { try core.setOption(descriptor, level: level, name: name, value: $0) }
        }
        switch which % 6 {
        case 0: set(SOL_SOCKET, SO_LINGER, linger(l_onoff: 1, l_linger: 0))  // close sends RST
        case 1: set(SOL_SOCKET, SO_RCVBUF, value)
        case 2: set(SOL_SOCKET, SO_SNDBUF, value)
        case 3: set(SOL_SOCKET, SO_REUSEADDR, Int32(1))
        case 4: set(Int32(IPPROTO_TCP), TCP_NODELAY, value & 1)
        default: set(SOL_SOCKET, SO_BROADCAST, Int32(1))
        }
    }
}
