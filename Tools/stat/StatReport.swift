import Foundation

/// One reading of the views asked for, as tables or as one JSON object.
struct StatReport {
    var replies: [(String, Any)] = []

    init(connection: StatConnection, views: [String]) throws {
        for view in views {
            switch view {
            case "ports", "xstats":
                if replies.contains(where: { $0.0 == "ports" }) { continue }
                let ports = try connection.ask("/ports") as? [[String: Any]] ?? []
                replies.append(("ports", ports))
                replies.append(("portStats", try ports.indices.map { try connection.ask("/ports/\($0)/stats") }))
            case "cores", "counters":
                if !replies.contains(where: { $0.0 == "cores" }) { replies.append(("cores", try connection.ask("/cores"))) }
            case "tcp": replies.append(("tcp", try connection.ask("/tcp/connections")))
            case "arp": replies.append(("arp", try connection.ask("/arp")))
            case "routes": replies.append(("routes", try connection.ask("/routes")))
            case "pools": replies.append(("pools", try connection.ask("/pools")))
            default: break
            }
        }
        self.views = views
    }

    let views: [String]

    func reply(_ key: String) -> Any? { replies.first { $0.0 == key }?.1 }

    func json() -> String {
        let object = Dictionary(uniqueKeysWithValues: replies.map { ($0.0, $0.1) })
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    func tables() -> String {
        var out: [String] = []
        for view in views {
            switch view {
            case "ports": out.append(StatTables.ports(reply("ports"), reply("portStats")))
            case "xstats": out.append(StatTables.extended(reply("portStats")))
            case "cores": out.append(StatTables.cores(reply("cores")))
            case "counters": out.append(StatTables.counters(reply("cores"), rates: nil))
            case "tcp": out.append(StatTables.tcp(reply("tcp")))
            case "arp": out.append(StatTables.arp(reply("arp")))
            case "routes": out.append(StatTables.routes(reply("routes")))
            case "pools": out.append(StatTables.pools(reply("pools")))
            default: break
            }
        }
        return out.joined(separator: "\n")
    }
}
