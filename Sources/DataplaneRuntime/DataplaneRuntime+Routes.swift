import Glibc
import Stack
import Wire

/// Routes and static neighbours of the runtime: what the flags and the
/// configuration file gave, and what the C API changed since. Every core's
/// stack gets the same table: the list is applied to each stack dp_run
/// makes, and a change while running goes to the calling core's stack at
/// once (its error is the caller's) and to the other cores through their
/// mailboxes (applied at their next poll step).
final class RuntimeRoutes: @unchecked Sendable {
    private(set) var commands: [RouteCommand]

    init(_ commands: [RouteCommand]) { self.commands = commands }

    /// Applies every command so far to a new stack.
    func apply(to stack: NetStack) throws(StackError) {
        for command in commands { try command.apply(to: stack) }
    }
}

extension DataplaneRuntime {
    /// Applies `command` to the running cores (or checks it on a scratch
    /// check of the list when not running) and records it. The errno is
    /// Linux's for the same `ip route` / `ip neigh` change.
    func change(_ command: RouteCommand) throws(StackError) {
        if cores.isEmpty {
            // Not running: the next dp_run applies the list; a failure then
            // would fail dp_run, so check the change against what is known.
            try checkOffline(command)
        } else {
            let own = Int(coreIndex())
            guard own >= 0 else {
                throw StackError(.invalidConfiguration, "route and neighbour changes while running are made from a core (the loop given to dp_run)")
            }
            try command.apply(to: cores[own].stack)
            for index in cores.indices where index != own {
                cores[index].stack.mailbox.post { stack in try? command.apply(to: stack) }
            }
        }
        routes.record(command)
    }

    /// The checks a stack would make, against the interface's subnet and the list.
    private func checkOffline(_ command: RouteCommand) throws(StackError) {
        let network = options.network!
        switch command {
        case .addRoute(let destination, let gateway, let interface):
            if let interface, interface != 0 { throw StackError(.invalidConfiguration, "interface \(interface): the runtime has one port (0)") }
            if let gateway, !network.contains(gateway) {
                throw StackError(.networkUnreachable, "\(gateway) is not on the interface's subnet \(network)")
            }
            if routes.staticRoutes.contains(where: { $0 == destination.canonical }) || destination.canonical == network.canonical
                || (destination.prefixLength == 0 && options.gateway != nil) {
                throw StackError(.exists, "a route to \(destination.canonical) is already there (remove it first)")
            }
        case .removeRoute(let destination, _):
            guard routes.staticRoutes.contains(destination.canonical)
                    || (destination.prefixLength == 0 && options.gateway != nil) else {
                throw StackError(.notFound, "no static route to \(destination.canonical)")
            }
        case .addNeighbour(let address, let mac, _):
            guard mac.isValidUnicast else { throw StackError(.invalidConfiguration, "\(mac) is not a unicast MAC address") }
            guard network.contains(address) else {
                throw StackError(.networkUnreachable, "\(address) is on no interface's subnet: a neighbour must be directly reachable")
            }
        case .removeNeighbour(let address):
            guard routes.staticNeighbours.contains(address) else { throw StackError(.notFound, "no neighbour entry for \(address)") }
        }
    }
}

extension RuntimeRoutes {
    /// The static destinations the list leaves in place.
    var staticRoutes: Set<IPv4Network> {
        var set: Set<IPv4Network> = []
        for command in commands {
            switch command {
            case .addRoute(let destination, _, _): set.insert(destination.canonical)
            case .removeRoute(let destination, _): set.remove(destination.canonical)
            default: break
            }
        }
        return set
    }

    var staticNeighbours: Set<IPv4Address> {
        var set: Set<IPv4Address> = []
        for command in commands {
            switch command {
            case .addNeighbour(let address, _, _): set.insert(address)
            case .removeNeighbour(let address): set.remove(address)
            default: break
            }
        }
        return set
    }

    func record(_ command: RouteCommand) { commands.append(command) }
}

/// errno for a refused route or neighbour change (what Linux's netlink answers).
func routeErrno(_ error: StackError) -> Int32 {
    switch error.kind {
    case .exists: EEXIST
    case .notFound: ESRCH
    case .networkUnreachable: ENETUNREACH
    case .noBuffers: ENOBUFS
    default: EINVAL
    }
}
