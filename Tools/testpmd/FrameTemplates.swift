import Wire

/// The UDP/IPv4 frames txonly sends: one prebuilt frame per flow (flows
/// differ in the UDP source port), copied into each buffer.
struct FrameTemplates {
    let frameSize: Int
    let frames: [[UInt8]]

    static let headerLength = 14 + 20 + 8
    static let sourceIP: [UInt8] = [198, 18, 0, 1]
    static let destinationIP: [UInt8] = [198, 18, 0, 2]
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

    static func frame(size: Int, sourcePort: Int, source: MACAddress, destination: MACAddress, checksums: Bool) -> [UInt8] {
        let ipLength = size - 14
        let udpLength = ipLength - 20
        var frame = [UInt8]()
        frame.reserveCapacity(size)
        let d = destination.bytes, s = source.bytes
        frame += [d.0, d.1, d.2, d.3, d.4, d.5, s.0, s.1, s.2, s.3, s.4, s.5, 0x08, 0x00]
        frame += [0x45, 0, UInt8(ipLength >> 8), UInt8(ipLength & 0xff), 0, 0, 0, 0, 64, 17, 0, 0]
        frame += sourceIP + destinationIP
        frame += [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xff), 0, UInt8(destinationPort),
                  UInt8(udpLength >> 8), UInt8(udpLength & 0xff), 0, 0]
        while frame.count < size { frame.append(UInt8(truncatingIfNeeded: frame.count - headerLength)) }
        if checksums {
            let ipSum = ~onesComplementSum(frame[14..<34])
            frame[24] = UInt8(ipSum >> 8)
            frame[25] = UInt8(ipSum & 0xff)
            var pseudo = UInt32(17) + UInt32(udpLength)
            pseudo += UInt32(onesComplementSum(frame[26..<34]))
            var udpSum = ~onesComplementSum(frame[34..<size], initial: pseudo)
            if udpSum == 0 { udpSum = 0xffff }
            frame[40] = UInt8(udpSum >> 8)
            frame[41] = UInt8(udpSum & 0xff)
        }
        return frame
    }

    static func onesComplementSum(_ bytes: ArraySlice<UInt8>, initial: UInt32 = 0) -> UInt16 {
        var sum = initial
        var i = bytes.startIndex
        while i < bytes.endIndex {
            sum += UInt32(bytes[i]) << 8 | (i + 1 < bytes.endIndex ? UInt32(bytes[i + 1]) : 0)
            i += 2
        }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return UInt16(sum)
    }
}
