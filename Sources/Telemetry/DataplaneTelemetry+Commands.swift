import Glibc
import NetDevice
import Packets
import Platform
import Stack
import TCP
import Wire

extension DataplaneTelemetry {
    func addCommands() {
        router.add("/info", help: "the process: name, pid, ports, cores, uptime") { [self] _ throws(TelemetryFailure) in
            [
                "process": .string(processName), "pid": .number(Int(getpid())),
                "name": .string(server?.name ?? ""), "ports": .number(ports.count), "cores": .number(coreStacks().count),
                "uptimeSeconds": .double(Double(TSCClock.monotonicNanoseconds() - startedAt) / 1e9),
            ]
        }
        router.add("/ports", help: "every port: label, driver, MAC, MTU, link") { [self] _ throws(TelemetryFailure) in
            .array(try onPorts { ports in ports.enumerated().map { index, port in Self.describe(port, index: index) } })
        }
        router.add("/ports/#/stats", help: "a port's basic and extended counters") { [self] request throws(TelemetryFailure) in
            let index = Int(request.path[1])!
            guard index < ports.count else { throw TelemetryFailure("no port \(index): ports are 0...\(ports.count - 1)") }
            let statistics = try onPorts { ports in ports[index].device.statistics() }
            return Self.json(statistics, port: index, label: ports[index].label)
        }
        router.add("/cores", help: "every core's stack counters and TCP table counters") { [self] _ throws(TelemetryFailure) in
            .array(askEveryCore { stack in CoreSnapshot(stack) }.map { index, snapshot in
                snapshot.map { $0.json(core: index) } ?? Self.noAnswer(core: index)
            })
        }
        router.add("/cores/#", help: "one core's counters") { [self] request throws(TelemetryFailure) in
            let index = Int(request.path[1])!
            guard let box = coreStacks().first(where: { $0.0 == index })?.1 else { throw TelemetryFailure("no core \(index) is running") }
            return box.ask(timeout: coreTimeout) { CoreSnapshot($0) }?.json(core: index) ?? Self.noAnswer(core: index)
        }
        router.add("/tcp/connections", help: "TCP connections (state, queues, RTT, cwnd) and listeners, per core") { [self] _ throws(TelemetryFailure) in
            .array(askEveryCore { stack in (stack.tcpConnectionInfos, stack.tcpListenerInfos, stack.tcpTimeWaitCount) }.map { index, answer in
                guard let (connections, listeners, timeWait) = answer else { return Self.noAnswer(core: index) }
                return [
                    "core": .number(index), "timeWait": .number(timeWait),
                    "listeners": .array(listeners.map { ["local": .string("\($0.local)"), "acceptQueue": .number($0.acceptQueue)] }),
                    "connections": .array(connections.map(Self.json)),
                ]
            })
        }
        router.add("/arp", help: "the neighbour (ARP) table, per core") { [self] _ throws(TelemetryFailure) in
            .array(askEveryCore { $0.neighbours }.map { index, answer in
                guard let neighbours = answer else { return Self.noAnswer(core: index) }
                return ["core": .number(index), "neighbours": .array(neighbours.map { entry in
                    ["address": .string("\(entry.address)"), "mac": entry.macAddress.map { .string("\($0)") } ?? .null,
                     "interface": .number(entry.interface), "state": .string(entry.state), "waiting": .number(entry.waiting)]
                })]
            })
        }
        router.add("/routes", help: "the route table of core 0 (connected subnets, gateways, static routes; most specific first)") { [self] _ throws(TelemetryFailure) in
            guard let (_, box) = coreStacks().first else { throw TelemetryFailure("no core is running") }
            guard let (routes, interfaces) = box.ask(timeout: coreTimeout, { ($0.routes, $0.interfaceEntries) }) else { return Self.noAnswer(core: 0) }
            return [
                "interfaces": .array(interfaces.map { entry in
                    ["index": .number(entry.index), "address": .string("\(entry.address)"), "mac": .string("\(entry.macAddress)"),
                     "mtu": .number(entry.mtu), "device": .string(entry.deviceName), "queue": .number(entry.queue)]
                }),
                "routes": .array(routes.map { route in
                    ["destination": .string("\(route.destination)"), "gateway": route.gateway.map { .string("\($0)") } ?? .null,
                     "interface": .number(route.interface), "source": .string("\(route.source)"), "origin": .string(route.origin)]
                }),
            ]
        }
        router.add("/routes/change", help: "change=route add|del ... / arp add|del ...: a route or static neighbour change, on every core") {
            [self] request throws(TelemetryFailure) in try changeRoutes(request)
        }
        router.add("/pools", help: "packet pools: capacity, free, cached in cores, in use, allocation failures") { [self] _ throws(TelemetryFailure) in
            .array(pools.map { pool in
                let statistics = pool.statistics
                return ["name": .string(pool.name), "capacity": .number(statistics.capacity), "free": .number(statistics.available),
                        "cached": .number(statistics.cached), "inUse": .number(statistics.inUse),
                        "allocationFailures": .number(statistics.allocationFailures)]
            })
        }
    }

    /// Applies a route or neighbour change (RouteCommand's text form) to
    /// every core through its mailbox, core 0 first: a change core 0
    /// refuses (no such route, a duplicate) is reported and goes nowhere.
    func changeRoutes(_ request: TelemetryRequest) throws(TelemetryFailure) -> JSONValue {
        guard let text = request.arguments["change"], !text.isEmpty else {
            throw TelemetryFailure("/routes/change needs change=..., e.g. change=route add 10.2.0.0/24 via 10.1.0.1")
        }
        let command: RouteCommand
        do { command = try RouteCommand(parsing: text) } catch { throw TelemetryFailure("\(error)") }
        let cores = coreStacks()
        guard !cores.isEmpty else { throw TelemetryFailure("no core is running") }
        var applied: [JSONValue] = []
        for (position, (index, box)) in cores.enumerated() {
            let answer = box.ask(timeout: coreTimeout) { stack -> String? in
                do { try command.apply(to: stack); return nil } catch { return "\(error)" }
            }
            guard let answer else {
                applied.append(Self.noAnswer(core: index))
                continue
            }
            if let refusal = answer {
                guard position > 0 else { throw TelemetryFailure("'\(command)': \(refusal)") }
                applied.append(["core": .number(index), "error": .string(refusal)])
            } else {
                applied.append(["core": .number(index), "applied": true])
            }
        }
        return ["change": .string("\(command)"), "cores": .array(applied)]
    }

    /// Runs `body` over the ports on core 0 (the core that owns the
    /// devices' control), or here when no core runs (nobody else touches them).
    func onPorts<T: Sendable>(_ body: @escaping @Sendable ([Port]) -> T) throws(TelemetryFailure) -> T {
        let ports = self.ports
        guard let (_, box) = coreStacks().first else { return body(ports) }
        guard let answer = box.ask(timeout: coreTimeout, { _ in body(ports) }) else {
            throw TelemetryFailure("core 0 did not answer within \(coreTimeout) s (is it polling?)")
        }
        return answer
    }

    /// `body` on every registered core, each on its own thread; nil where a core did not answer.
    func askEveryCore<T: Sendable>(_ body: @escaping @Sendable (NetStack) -> T) -> [(Int, T?)] {
        coreStacks().map { index, box in (index, box.ask(timeout: coreTimeout, body)) }
    }

    static func noAnswer(core: Int) -> JSONValue {
        ["core": .number(core), "error": "the core did not answer (is it polling?)"]
    }

    static func describe(_ port: Port, index: Int) -> JSONValue {
        let device = port.device
        let link = device.linkStatus()
        return [
            "index": .number(index), "label": .string(port.label), "driver": .string(device.info.driverName),
            "device": .string(device.info.deviceName), "mac": .string("\(device.macAddress)"), "mtu": .number(device.info.mtu),
            "link": ["up": .bool(link.isUp), "speedMbps": .number(link.speedMbps), "fullDuplex": .bool(link.fullDuplex)],
        ]
    }

    static func json(_ statistics: PortStatistics, port: Int, label: String) -> JSONValue {
        [
            "port": .number(port), "label": .string(label),
            "basic": [
                "receivedPackets": .number(statistics.receivedPackets), "receivedBytes": .number(statistics.receivedBytes),
                "transmittedPackets": .number(statistics.transmittedPackets), "transmittedBytes": .number(statistics.transmittedBytes),
                "receiveMissed": .number(statistics.receiveMissed), "receiveErrors": .number(statistics.receiveErrors),
                "transmitErrors": .number(statistics.transmitErrors), "receiveNoBuffer": .number(statistics.receiveNoBuffer),
            ],
            "extended": .object(statistics.extended.sorted { $0.key < $1.key }.map { ($0.key, .number($0.value)) }),
        ]
    }

    static func json(_ connection: TCPConnectionInfo) -> JSONValue {
        let statistics = connection.statistics
        return [
            "local": .string("\(connection.tuple.local)"), "remote": .string("\(connection.tuple.remote)"),
            "state": .string("\(connection.state)"), "recvQ": .number(connection.receiveQueue), "sendQ": .number(connection.sendQueue),
            "rttMicroseconds": connection.smoothedRTTMicroseconds.map { .number($0) } ?? .null,
            "rttVarMicroseconds": .number(connection.rttVariationMicroseconds),
            "rtoMicroseconds": .number(connection.retransmissionTimeoutMicroseconds),
            "cwnd": .number(connection.congestionWindow), "ssthresh": .number(connection.slowStartThreshold),
            "mss": .number(connection.sendMSS), "congestion": .string(connection.congestionAlgorithm),
            "bytesSent": .number(statistics.bytesSent), "bytesReceived": .number(statistics.bytesReceived),
            "segmentsSent": .number(statistics.segmentsSent), "segmentsReceived": .number(statistics.segmentsReceived),
            "retransmits": .number(statistics.retransmittedSegments),
        ]
    }
}

/// What a core reports for /cores: copies made on the core (a few
/// hundred bytes), named on the telemetry thread.
struct CoreSnapshot: Sendable {
    var rawCounters: StackCounters
    var counters: [String: UInt64] { rawCounters.named }
    var table: TCPTableStatistics
    var connections: Int
    var timeWait: Int
    var capturing: Bool
    var load: CoreLoad

    init(_ stack: NetStack) {
        rawCounters = stack.counters.detachedCopy()
        table = stack.tcpStatistics
        connections = stack.tcpConnectionCount
        timeWait = stack.tcpTimeWaitCount
        capturing = stack.capture != nil
        load = stack.load
    }

    func json(core: Int) -> JSONValue {
        [
            "core": .number(core), "capturing": .bool(capturing),
            // Since the core started: turns that found work against those that did not (CoreLoad).
            "load": [
                "busyPercent": .double((load.busyFraction * 1000).rounded() / 10),
                "busyCycles": .number(Int(clamping: load.busyCycles)), "idleCycles": .number(Int(clamping: load.idleCycles)),
                "busyTurns": .number(Int(clamping: load.busyTurns)), "idleTurns": .number(Int(clamping: load.idleTurns)),
            ],
            "counters": .object(counters.sorted { $0.key < $1.key }.map { ($0.key, .number($0.value)) }),
            "tcp": [
                "connections": .number(connections), "timeWait": .number(timeWait),
                "segmentsReceived": .number(table.segmentsReceived), "connectionsOpened": .number(table.connectionsOpened),
                "connectionsAccepted": .number(table.connectionsAccepted), "resetsForClosedPorts": .number(table.resetsForClosedPorts),
                "synCookiesSent": .number(table.synCookiesSent), "synsDropped": .number(table.synsDropped),
            ],
        ]
    }
}
