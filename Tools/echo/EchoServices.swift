import Foundation
import Platform
import Ports
import Sockets
import Stack
import Wire

extension Echo {
    /// What dp-echo serves on its stack.
    struct Services {
        var endpoints: [UDPEndpoint] = []
        var stopEndpoint: UDPEndpoint?
        let core: SocketCore
        let tcp: TCPServices
        var watch: DeviceWatch?
    }

    /// Attaches every port to `stack` and opens the UDP endpoints and the
    /// TCP services the command line asks for.
    /// Core `queue` (of --cores N) attaches its queue of each port.
    func startServices(on stack: NetStack, ports: StartedPorts, networks: [IPv4Network], queue: Int = 0) throws -> Services {
        for index in ports.ports.indices {
            // The gateway belongs to the port whose subnet holds it.
            let gatewayAddress = gateway.flatMap { IPv4Address($0) }.flatMap { networks[index].contains($0) ? $0 : nil }
            // One core announces the address; the others share it.
            let ipv6 = ipv6Networks[index].map {
                IPv6Configuration(addresses: $0, duplicateAddressDetectionTransmits: queue == 0 ? ipv6DAD : 0)
            }
            let interface = InterfaceConfiguration(address: networks[index], gateway: gatewayAddress, mtu: mtu,
                                                   announceOnStart: queue == 0, ipv6: ipv6)
            try ports.attach(index, core: queue, to: stack, interface)
        }
        var endpoints: [UDPEndpoint] = []
        for port in udpEcho { endpoints.append(try stack.udpBind(port: port)) }
        let stopEndpoint = try stopPort.map { port throws(StackError) in try stack.udpBind(port: port) }
        // TCP goes through the socket layer; the ports are the command line's choice.
        var configuration = SocketCoreConfiguration()
        configuration.privilegedPorts = .allowed
        configuration.idle = idlePolicy
        let core = try SocketCore(stack: stack, configuration: configuration)
        // With an IPv6 --ip the TCP listeners are dual-stack AF_INET6 sockets on ::.
        let tcp = try TCPServices(core: core, echoPorts: tcpEcho, discardPorts: tcpDiscard, sinkPorts: tcpSink,
                                    sourcePorts: tcpSource, dualStack: !ipv6Networks.isEmpty, socketBuffer: socketBuffer)
        let watch = watchDevices && cores == 1 ? DeviceWatch(ports: ports) : nil
        return Services(endpoints: endpoints, stopEndpoint: stopEndpoint, core: core, tcp: tcp, watch: watch)
    }

    /// Polls and serves until a stop signal, the stop datagram or the end
    /// of --seconds; returns the datagrams echoed.
    func serve(_ stack: NetStack, _ services: Services, since started: UInt64) -> UInt64 {
        let limit = seconds.map { UInt64($0 * 1e9) } ?? UInt64.max
        // The end in TSC cycles: an empty turn checks it, and clock_gettime
        // is a system call in a guest whose clocksource is not the TSC.
        let spent = TSCClock.monotonicNanoseconds() &- started
        let end = limit == .max ? UInt64.max
            : TSCClock.cycles() &+ stack.clock.cycles(fromNanoseconds: limit > spent ? limit - spent : 0)
        var echoed: UInt64 = 0
        var iterations: UInt64 = 0
        while !StopSignals.stopRequested {
            var work = services.core.runOnce()
            work += services.tcp.serve()
            for endpoint in services.endpoints {
                while let datagram = try? stack.udpReceive(endpoint) {
                    // Echo in place: the received buffer goes back out.
                    do {
                        if let source = datagram.sourceIPv6 {
                            try stack.udpSend(endpoint, datagram.payload, to: (source, datagram.sourcePort))
                        } else {
                            try stack.udpSend(endpoint, datagram.payload, to: (datagram.source, datagram.sourcePort))
                        }
                        echoed += 1
                    } catch {}
                    work += 1
                }
            }
            if let stopEndpoint = services.stopEndpoint, let datagram = try? stack.udpReceive(stopEndpoint) {
                let isStop = datagram.payload.contents().starts(with: Array("stop".utf8))
                datagram.payload.free()
                if isStop {
                    StopSignals.request()  // the other cores stop too
                    break
                }
            }
            if let watch = services.watch, watch.poll(stack) {
                // One more turn: the sockets the removal failed report their error.
                _ = services.core.runOnce()
                _ = services.tcp.serve()
                FileHandle.standardOutput.write(Data("dp-echo: every watched port was removed; stopping\n".utf8))
                StopSignals.request()
                break
            }
            iterations += 1
            // Checked busy or idle: a port that never runs dry must still stop.
            // (every empty turn too: an idle core's turn may last a whole sleep).
            if iterations & 63 == 0 || work == 0, TSCClock.cycles() >= end { break }
            // Poll, then nap or sleep on interrupts after a quiet spell
            // (--idle, --idle-spin-us: Stack's CoreIdle), never between the
            // steps of an exchange.
            services.core.idle.afterPoll(work: work)
        }
        return echoed
    }
}
