import Glibc
import Stack
import Wire

// Routes and static neighbours from C (dataplane.h; Docs/SOCKETS.md
// "Routes and neighbours"). Addresses are in network byte order, as in a
// sockaddr_in; errno is what Linux's `ip route` / `ip neigh` get.

private func address(_ value: in_addr) -> IPv4Address { IPv4Address(UInt32(bigEndian: value.s_addr)) }

private func changeRoutes(_ caller: String, _ make: () -> RouteCommand?) -> Int32 {
    guard let runtime = DataplaneRuntime.current else {
        report("\(caller): call dp_init first\n")
        return fail(EINVAL)
    }
    guard let command = make() else { return fail(EINVAL) }
    do {
        try runtime.change(command)
        return 0
    } catch {
        return fail(routeErrno(error))
    }
}

@_cdecl("dp_route_add")
public func dp_route_add(_ destination: in_addr, _ prefixLength: Int32, _ gateway: UnsafePointer<in_addr>?, _ port: Int32) -> Int32 {
    changeRoutes("dp_route_add") {
        guard let network = IPv4Network(address: address(destination), prefixLength: Int(prefixLength)),
              gateway != nil || port >= 0 else { return nil }
        return .addRoute(network, via: gateway.map { address($0.pointee) }, interface: port >= 0 ? Int(port) : nil)
    }
}

@_cdecl("dp_route_del")
public func dp_route_del(_ destination: in_addr, _ prefixLength: Int32, _ gateway: UnsafePointer<in_addr>?) -> Int32 {
    changeRoutes("dp_route_del") {
        guard let network = IPv4Network(address: address(destination), prefixLength: Int(prefixLength)) else { return nil }
        return .removeRoute(network, via: gateway.map { address($0.pointee) })
    }
}

@_cdecl("dp_arp_add")
public func dp_arp_add(_ target: in_addr, _ mac: UnsafePointer<UInt8>?, _ port: Int32) -> Int32 {
    changeRoutes("dp_arp_add") {
        guard let mac else { return nil }
        let link = MACAddress(loadingFrom: UnsafeRawPointer(mac))
        return .addNeighbour(address(target), link, interface: port >= 0 ? Int(port) : nil)
    }
}

@_cdecl("dp_arp_del")
public func dp_arp_del(_ target: in_addr) -> Int32 {
    changeRoutes("dp_arp_del") { .removeNeighbour(address(target)) }
}
