import Foundation

/// The tables of each view, from the process's JSON.
enum StatTables {
    typealias Object = [String: Any]

    static func ports(_ ports: Any?, _ stats: Any?, rates: [String: Double]? = nil) -> String {
        let ports = ports as? [Object] ?? []
        let stats = stats as? [Object] ?? []
        let keys = ["receivedPackets", "receivedBytes", "transmittedPackets", "transmittedBytes", "receiveMissed", "receiveErrors",
                    "transmitErrors", "receiveNoBuffer"]
        var table = Table(title: "ports", header: ["port", "label", "link", "rx-pkts", "rx-bytes", "tx-pkts", "tx-bytes", "missed",
                                                    "rx-err", "tx-err", "no-buf"])
        for (index, port) in ports.enumerated() {
            let basic = index < stats.count ? stats[index]["basic"] as? Object ?? [:] : [:]
            let link = port["link"] as? Object
            let up = (link?["up"] as? Bool ?? false) ? "up" : "down"
            table.rows.append([Cell.text(port["index"]), Cell.text(port["label"]), up] + keys.map { Cell.text(basic[$0]) })
            if let rates {
                table.rows.append(["", "  per second", ""] + keys.map { rates["port\(index).\($0)"].map(Cell.rate) ?? "-" })
            }
        }
        return table.render()
    }

    static func extended(_ stats: Any?) -> String {
        var table = Table(title: "port extended counters (non-zero)", header: ["port", "counter", "value"])
        for (index, stat) in (stats as? [Object] ?? []).enumerated() {
            let extended = stat["extended"] as? Object ?? [:]
            for key in extended.keys.sorted() where Cell.integer(extended[key]) != 0 {
                table.rows.append([String(index), key, Cell.text(extended[key])])
            }
        }
        return table.render()
    }

    static func cores(_ cores: Any?) -> String {
        var table = Table(title: "cores", header: ["core", "frames-rx", "frames-tx", "dropped", "tcp-conns", "time-wait", "tcp-accepted",
                                                    "tcp-opened", "capturing", "busy%"])
        for core in cores as? [Object] ?? [] {
            if let error = core["error"] as? String {
                table.rows.append([Cell.text(core["core"]), error])
                continue
            }
            let counters = core["counters"] as? Object ?? [:]
            let tcp = core["tcp"] as? Object ?? [:]
            // Every drop.* counter (the stack's malformed-header counts are drop.* too).
            let dropped = counters.filter { $0.key.hasPrefix("drop.") }.compactMap { Cell.integer($0.value) }.reduce(0, +)
            table.rows.append([Cell.text(core["core"]), Cell.text(counters["frames.received"] ?? 0), Cell.text(counters["frames.transmitted"] ?? 0),
                               String(dropped), Cell.text(tcp["connections"]), Cell.text(tcp["timeWait"]), Cell.text(tcp["connectionsAccepted"]),
                               Cell.text(tcp["connectionsOpened"]), Cell.text(core["capturing"]),
                               Cell.text((core["load"] as? Object)?["busyPercent"] ?? "-")])
        }
        return table.render()
    }

    /// Every non-zero stack counter, a column per core (and its rate with --watch).
    static func counters(_ cores: Any?, rates: [String: Double]?) -> String {
        let cores = (cores as? [Object] ?? []).filter { $0["error"] == nil }
        let byCore = cores.map { $0["counters"] as? Object ?? [:] }
        let names = Set(byCore.flatMap { counters in counters.keys.filter { Cell.integer(counters[$0]) != 0 } }).sorted()
        var header = ["counter"] + cores.map { "core \(Cell.text($0["core"]))" }
        if rates != nil { header.append("total/s") }
        var table = Table(title: "stack counters (non-zero)", header: header)
        for name in names {
            var row = [name] + byCore.map { Cell.text($0[name] ?? 0) }
            if let rates { row.append(rates["counter.\(name)"].map(Cell.rate) ?? "-") }
            table.rows.append(row)
        }
        return table.render()
    }

    /// What `ss -ti` shows: state, queues, addresses, RTT/RTTVAR, RTO, cwnd, ssthresh, MSS, retransmits.
    static func tcp(_ reply: Any?) -> String {
        var table = Table(title: "tcp connections", header: ["core", "state", "recv-q", "send-q", "local", "remote", "rtt-ms", "rttvar-ms",
                                                              "rto-ms", "cwnd", "ssthresh", "mss", "retrans", "bytes-sent", "bytes-recv", "cc"])
        var listeners = Table(title: "tcp listeners", header: ["core", "local", "accept-queue"])
        var timeWait = 0
        for core in reply as? [Object] ?? [] {
            let index = Cell.text(core["core"])
            timeWait += Cell.integer(core["timeWait"]) ?? 0
            for connection in core["connections"] as? [Object] ?? [] {
                table.rows.append([index, Cell.text(connection["state"]), Cell.text(connection["recvQ"]), Cell.text(connection["sendQ"]),
                                   Cell.text(connection["local"]), Cell.text(connection["remote"]),
                                   Cell.microseconds(connection["rttMicroseconds"]), Cell.microseconds(connection["rttVarMicroseconds"]),
                                   Cell.microseconds(connection["rtoMicroseconds"]), Cell.text(connection["cwnd"]),
                                   Cell.text(connection["ssthresh"]), Cell.text(connection["mss"]), Cell.text(connection["retransmits"]),
                                   Cell.text(connection["bytesSent"]), Cell.text(connection["bytesReceived"]), Cell.text(connection["congestion"])])
            }
            for listener in core["listeners"] as? [Object] ?? [] {
                listeners.rows.append([index, Cell.text(listener["local"]), Cell.text(listener["acceptQueue"])])
            }
        }
        return table.render() + "(\(table.rows.count) connections, \(timeWait) in TIME-WAIT)\n\n" + listeners.render()
    }

    static func arp(_ reply: Any?) -> String {
        var table = Table(title: "neighbours (ARP)", header: ["core", "address", "mac", "interface", "state", "waiting"])
        for core in reply as? [Object] ?? [] {
            for entry in core["neighbours"] as? [Object] ?? [] {
                table.rows.append([Cell.text(core["core"]), Cell.text(entry["address"]), Cell.text(entry["mac"]), Cell.text(entry["interface"]),
                                   Cell.text(entry["state"]), Cell.text(entry["waiting"])])
            }
        }
        return table.render()
    }

    static func routes(_ reply: Any?) -> String {
        let object = reply as? Object ?? [:]
        var interfaces = Table(title: "interfaces", header: ["index", "address", "mac", "mtu", "device", "queue"])
        for entry in object["interfaces"] as? [Object] ?? [] {
            interfaces.rows.append(["index", "address", "mac", "mtu", "device", "queue"].map { Cell.text(entry[$0]) })
        }
        var routes = Table(title: "routes", header: ["destination", "gateway", "interface", "source", "origin"])
        for entry in object["routes"] as? [Object] ?? [] {
            routes.rows.append(["destination", "gateway", "interface", "source", "origin"].map { Cell.text(entry[$0]) })
        }
        return interfaces.render() + "\n" + routes.render()
    }

    static func pools(_ reply: Any?) -> String {
        var table = Table(title: "pools", header: ["name", "capacity", "free", "cached", "in-use", "alloc-failures"])
        for pool in reply as? [Object] ?? [] {
            table.rows.append(["name", "capacity", "free", "cached", "inUse", "allocationFailures"].map { Cell.text(pool[$0]) })
        }
        return table.render()
    }
}
