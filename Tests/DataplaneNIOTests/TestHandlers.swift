import NIOConcurrencyHelpers
import NIOCore

/// Echoes every read back.
final class EchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

/// Collects what a channel reads and the events it sees, readable from the test thread.
final class Collector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    struct State {
        var bytes: [UInt8] = []
        var events: [String] = []
        var errors: [Error] = []
        var inactive = false
    }

    let state = NIOLockedValueBox(State())

    var bytes: [UInt8] { state.withLockedValue { $0.bytes } }
    var events: [String] { state.withLockedValue { $0.events } }
    var errors: [Error] { state.withLockedValue { $0.errors } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        state.withLockedValue { $0.bytes += buffer.readableBytesView }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        state.withLockedValue { $0.events.append("\(event)") }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        state.withLockedValue { $0.errors.append(error) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.withLockedValue { $0.inactive = true }
    }
}

/// Waits (bounded) for `condition`.
func eventually(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = NIODeadline.now() + .milliseconds(Int64(seconds * 1000))
    while NIODeadline.now() < deadline {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}

import Glibc

/// Records writability changes and writes from the loop until the channel
/// is no longer writable.
final class WritabilityRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let changes = NIOLockedValueBox<[Bool]>([])

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        changes.withLockedValue { $0.append(writable) }
        context.fireChannelWritabilityChanged()
    }
}

/// Closes the channel when IdleStateHandler says it was idle.
final class CloseOnIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let fired = NIOLockedValueBox<[String]>([])

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent {
            fired.withLockedValue { $0.append("\(idle)") }
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
