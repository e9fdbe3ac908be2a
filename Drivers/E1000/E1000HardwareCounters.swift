/// The device's statistics registers, accumulated into 64-bit totals.
///
/// The 82540EM clears every statistics register when it is read. QEMU's
/// emulation clears only some of them (the packet and octet counters); the
/// error counters (CRCERRS ... MPC, RNBC, ...) keep their value. On QEMU the
/// driver therefore takes the difference to the previous read for those.
struct E1000HardwareCounters {
    struct Counter {
        let name: String
        let register: Int
        /// The high half of a 64-bit counter (read after the low half; reading
        /// it clears both).
        let highRegister: Int?
        /// QEMU does not clear this one on read.
        let qemuKeepsValue: Bool
    }

    typealias R = E1000StatisticsRegister
    static let counters: [Counter] = [
        Counter(name: "crcerrs", register: R.crcerrs, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "algnerrc", register: R.algnerrc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "symerrs", register: R.symerrs, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "rxerrc", register: R.rxerrc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "mpc", register: R.mpc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "scc", register: R.scc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "ecol", register: R.ecol, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "mcc", register: R.mcc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "latecol", register: R.latecol, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "colc", register: R.colc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "dc", register: R.dc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "sec", register: R.sec, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "rlec", register: R.rlec, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "xonrxc", register: R.xonrxc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "xontxc", register: R.xontxc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "xoffrxc", register: R.xoffrxc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "xofftxc", register: R.xofftxc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "gprc", register: R.gprc, highRegister: nil, qemuKeepsValue: false),
        Counter(name: "bprc", register: R.bprc, highRegister: nil, qemuKeepsValue: false),
        Counter(name: "mprc", register: R.mprc, highRegister: nil, qemuKeepsValue: false),
        Counter(name: "gptc", register: R.gptc, highRegister: nil, qemuKeepsValue: false),
        Counter(name: "gorc", register: R.gorcl, highRegister: R.gorch, qemuKeepsValue: false),
        Counter(name: "gotc", register: R.gotcl, highRegister: R.gotch, qemuKeepsValue: false),
        Counter(name: "rnbc", register: R.rnbc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "ruc", register: R.ruc, highRegister: nil, qemuKeepsValue: false),
        Counter(name: "rfc", register: R.rfc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "roc", register: R.roc, highRegister: nil, qemuKeepsValue: false),
        Counter(name: "rjc", register: R.rjc, highRegister: nil, qemuKeepsValue: true),
        Counter(name: "tor", register: R.torl, highRegister: R.torh, qemuKeepsValue: false),
        Counter(name: "tot", register: R.totl, highRegister: R.toth, qemuKeepsValue: false),
        Counter(name: "tpr", register: R.tpr, highRegister: nil, qemuKeepsValue: false),
        Counter(name: "tpt", register: R.tpt, highRegister: nil, qemuKeepsValue: false),
        Counter(name: "mptc", register: R.mptc, highRegister: nil, qemuKeepsValue: false),
        Counter(name: "bptc", register: R.bptc, highRegister: nil, qemuKeepsValue: false),
    ]

    /// Registers behave as QEMU's (some keep their value) rather than the
    /// datasheet's (all clear on read).
    let qemuSemantics: Bool
    /// Totals since the last reset, by counter index.
    private(set) var totals: [UInt64]
    /// Last raw value of the counters QEMU does not clear.
    private var lastRaw: [UInt64]

    init(qemuSemantics: Bool) {
        self.qemuSemantics = qemuSemantics
        totals = Array(repeating: 0, count: Self.counters.count)
        lastRaw = Array(repeating: 0, count: Self.counters.count)
    }

    /// Reads every register and adds what is new to the totals.
    mutating func accumulate(from registers: any E1000RegisterAccess) {
        for (index, counter) in Self.counters.enumerated() {
            var raw = UInt64(registers.read32(counter.register))
            if let high = counter.highRegister {
                raw |= UInt64(registers.read32(high)) << 32
            }
            if qemuSemantics && counter.qemuKeepsValue {
                // A value below the last one means the device was reset.
                let delta = raw >= lastRaw[index] ? raw - lastRaw[index] : raw
                lastRaw[index] = raw
                totals[index] &+= delta
            } else {
                totals[index] &+= raw
            }
        }
    }

    /// Reads the registers and forgets their values (at start, so a
    /// previous user's counts do not show).
    mutating func discard(from registers: any E1000RegisterAccess) {
        accumulate(from: registers)
        resetTotals()
    }

    mutating func resetTotals() {
        for index in totals.indices { totals[index] = 0 }
    }

    func value(_ name: String) -> UInt64 {
        guard let index = Self.counters.firstIndex(where: { $0.name == name }) else { return 0 }
        return totals[index]
    }

    var named: [String: UInt64] {
        var result = [String: UInt64](minimumCapacity: Self.counters.count)
        for (index, counter) in Self.counters.enumerated() { result[counter.name] = totals[index] }
        return result
    }
}
