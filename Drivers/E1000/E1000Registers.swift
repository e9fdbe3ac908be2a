/// Register offsets and bits of the 82540EM (8086:100e), the e1000 QEMU
/// emulates. Constants only; names follow Intel's 8254x manual.
public enum E1000Register {
    // General
    public static let ctrl = 0x0000
    public static let status = 0x0008
    public static let eecd = 0x0010
    public static let eerd = 0x0014
    public static let ctrlExt = 0x0018
    public static let mdic = 0x0020
    // Interrupts (masked: the driver polls)
    public static let icr = 0x00C0
    public static let itr = 0x00C4
    public static let ics = 0x00C8
    public static let ims = 0x00D0
    public static let imc = 0x00D8
    // Receive
    public static let rctl = 0x0100
    public static let rdbal = 0x2800
    public static let rdbah = 0x2804
    public static let rdlen = 0x2808
    public static let rdh = 0x2810
    public static let rdt = 0x2818
    public static let rdtr = 0x2820
    public static let radv = 0x282C
    public static let rxcsum = 0x5000
    // Transmit
    public static let tctl = 0x0400
    public static let tipg = 0x0410
    public static let tdbal = 0x3800
    public static let tdbah = 0x3804
    public static let tdlen = 0x3808
    public static let tdh = 0x3810
    public static let tdt = 0x3818
    public static let tidv = 0x3820
    public static let tadv = 0x382C
    // Address filters
    public static let mta = 0x5200
    public static let multicastTableEntries = 128
    public static let ral0 = 0x5400
    public static let rah0 = 0x5404
    public static let receiveAddressEntries = 16
    /// The length of BAR 0 (memory-mapped registers).
    public static let barSize = 0x20000
}

/// Interrupt causes (ICR, IMS, IMC bits; 8254x manual 13.4.17-13.4.21).
public enum E1000Interrupt {
    /// Receive descriptor minimum threshold reached.
    public static let rxdmt0: UInt32 = 1 << 4
    /// Receiver overrun.
    public static let rxo: UInt32 = 1 << 6
    /// Receiver timer: a frame was written back.
    public static let rxt0: UInt32 = 1 << 7
    /// What wakes an idle core.
    public static let receive: UInt32 = rxt0 | rxdmt0 | rxo
}

public enum E1000Ctrl {
    public static let fullDuplex: UInt32 = 1 << 0
    public static let linkReset: UInt32 = 1 << 3
    public static let autoSpeedDetect: UInt32 = 1 << 5
    public static let setLinkUp: UInt32 = 1 << 6
    public static let invertLossOfSignal: UInt32 = 1 << 7
    public static let forceSpeed: UInt32 = 1 << 11
    public static let forceDuplex: UInt32 = 1 << 12
    public static let reset: UInt32 = 1 << 26
    public static let vlanModeEnable: UInt32 = 1 << 30
    public static let phyReset: UInt32 = 1 << 31
}

public enum E1000Status {
    public static let fullDuplex: UInt32 = 1 << 0
    public static let linkUp: UInt32 = 1 << 1
    public static let speedMask: UInt32 = 3 << 6
    public static let speed10: UInt32 = 0 << 6
    public static let speed100: UInt32 = 1 << 6
    public static let speed1000: UInt32 = 2 << 6
}

/// EEPROM Read register: start a word read, wait for done, data in the top half.
public enum E1000Eerd {
    public static let start: UInt32 = 1 << 0
    public static let done: UInt32 = 1 << 4
    public static let addressShift: UInt32 = 8
    public static let dataShift: UInt32 = 16
}

/// RXCSUM (8254x SDM 13.4.23): the device checks the IPv4 header and the
/// TCP/UDP checksum of each received frame and reports it in the
/// descriptor's status and errors (IPCS/TCPCS, IPE/TCPE).
public enum E1000Rxcsum {
    public static let ipOffload: UInt32 = 1 << 8
    public static let tcpUDPOffload: UInt32 = 1 << 9
}

public enum E1000Rctl {
    public static let enable: UInt32 = 1 << 1
    public static let storeBadPackets: UInt32 = 1 << 2
    public static let unicastPromiscuous: UInt32 = 1 << 3
    public static let multicastPromiscuous: UInt32 = 1 << 4
    public static let longPackets: UInt32 = 1 << 5
    public static let broadcastAccept: UInt32 = 1 << 15
    /// Buffer size field (bits 16-17) without BSEX: 00 2048, 01 1024, 10 512, 11 256.
    public static let bufferSize2048: UInt32 = 0 << 16
    public static let bufferSize1024: UInt32 = 1 << 16
    public static let bufferSize512: UInt32 = 2 << 16
    public static let bufferSize256: UInt32 = 3 << 16
    public static let bufferSizeMask: UInt32 = 3 << 16
    public static let bufferSizeExtension: UInt32 = 1 << 25
    public static let stripCRC: UInt32 = 1 << 26
}

public enum E1000Tctl {
    public static let enable: UInt32 = 1 << 1
    public static let padShortPackets: UInt32 = 1 << 3
    public static let collisionThresholdShift: UInt32 = 4
    public static let collisionDistanceShift: UInt32 = 12
    /// Recommended values: 15 retries, 64-byte collision distance (full duplex).
    public static let defaultCollisionThreshold: UInt32 = 0x0F
    public static let fullDuplexCollisionDistance: UInt32 = 0x40
    public static let retransmitOnLateCollision: UInt32 = 1 << 24
}

/// Inter-packet gap for copper 82540EM: IPGT 10, IPGR1 8, IPGR2 6.
public enum E1000Tipg {
    public static let copperDefault: UInt32 = 10 | (8 << 10) | (6 << 20)
}

public enum E1000ReceiveAddressHigh {
    public static let addressValid: UInt32 = 1 << 31
}

/// Statistics registers (0x4000-0x40FF). The 82540EM clears them on read;
/// QEMU clears only some (see `E1000HardwareCounter.qemuKeepsValue`).
public enum E1000StatisticsRegister {
    public static let crcerrs = 0x4000
    public static let algnerrc = 0x4004
    public static let symerrs = 0x4008
    public static let rxerrc = 0x400C
    public static let mpc = 0x4010
    public static let scc = 0x4014
    public static let ecol = 0x4018
    public static let mcc = 0x401C
    public static let latecol = 0x4020
    public static let colc = 0x4028
    public static let dc = 0x4030
    public static let sec = 0x4038
    public static let rlec = 0x4040
    public static let xonrxc = 0x4048
    public static let xontxc = 0x404C
    public static let xoffrxc = 0x4050
    public static let xofftxc = 0x4054
    public static let gprc = 0x4074
    public static let bprc = 0x4078
    public static let mprc = 0x407C
    public static let gptc = 0x4080
    public static let gorcl = 0x4088
    public static let gorch = 0x408C
    public static let gotcl = 0x4090
    public static let gotch = 0x4094
    public static let rnbc = 0x40A0
    public static let ruc = 0x40A4
    public static let rfc = 0x40A8
    public static let roc = 0x40AC
    public static let rjc = 0x40B0
    public static let torl = 0x40C0
    public static let torh = 0x40C4
    public static let totl = 0x40C8
    public static let toth = 0x40CC
    public static let tpr = 0x40D0
    public static let tpt = 0x40D4
    public static let mptc = 0x40F0
    public static let bptc = 0x40F4
}

/// PCI identity.
public enum E1000PCI {
    public static let vendorIntel: UInt16 = 0x8086
    public static let device82540EM: UInt16 = 0x100E
    /// QEMU's default subsystem vendor (Red Hat / Qumranet).
    public static let subsystemVendorQEMU: UInt16 = 0x1AF4
    public static let subsystemVendorOffset = 0x2C
}
