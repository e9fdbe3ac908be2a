import Wire

/// The UDP/IPv4 frames txonly sends: one prebuilt frame per flow (flows
/// differ in the UDP source port), copied into each buffer.
struct FrameTemplates {
    let frameSize: Int
    let frames: [[UInt8]]

    static let headerLength = EthernetFrame.headerLength + IPv4Packet.minimumHeaderLength + UDPDatagram.headerLength
    static let sourceIP = IPv4Address(198, 18, 0, 1)
    static let destinationIP = IPv4Address(198, 18, 0, 2)
    static let firstSourcePort = 1024
    static let destinationPort = 9

    /// - Parameter checksumsByDevice: leave the IPv4 and UDP checksums zero
    ///   (the device fills them in) instead of computing them here.
    init(frameSize: Int, flows: Int, source: MACAddress, destination: MACAddress, checksumsByDevice: Bool) {
        self.frameSize = frameSize
        var frames = [[UInt8]]()
        for flow in 0..<flows {
            frames.append(Self.frame(
                size: frameSize, sourcePort: Self.firstSourcePort + flow, source: source, destination: destination,
                checksums: !checksumsByDevice))
        }
        self.frames = frames
    }

    /// One frame of `size` bytes: Ethernet, IPv4, UDP, then a counting
    /// payload; `checksums` false leaves both checksum fields zero.
    static func frame(size: Int, sourcePort: Int, source: MACAddress, destination: MACAddress, checksums: Bool) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: size)
        // The payload first: the UDP checksum covers it.
        for index in headerLength..<size { frame[index] = UInt8(truncatingIfNeeded: index - headerLength) }
        frame.withUnsafeMutableBytes { bytes in
            EthernetRepr(destination: destination, source: source, etherType: .ipv4)
                .emit(into: EthernetFrame(unchecked: bytes))
            let ip = IPv4Packet(unchecked: UnsafeMutableRawBufferPointer(rebasing: bytes[EthernetFrame.headerLength...]))
            let udp = UDPRepr(
                sourcePort: UInt16(truncatingIfNeeded: sourcePort), destinationPort: UInt16(destinationPort),
                payloadLength: size - headerLength)
            IPv4Repr(source: sourceIP, destination: destinationIP, protocol: .udp, payloadLength: udp.datagramLength)
                .emit(into: ip, computeChecksum: checksums)
            udp.emit(into: UDPDatagram(unchecked: ip.payload), source: sourceIP, destination: destinationIP,
                     checksum: checksums ? .compute : .omit)
        }
        return frame
    }
}
