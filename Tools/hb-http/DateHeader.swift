import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// The `Date` header value (RFC 9110's IMF-fixdate), made once a second on a
/// loop, as Hummingbird's Application does with its own (internal) cache.
final class DateHeader: Sendable {
    private let value = NIOLockedValueBox(DateHeader.now())
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)

    init(on loop: EventLoop) {
        let refresh = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [value] _ in
            value.withLockedValue { $0 = DateHeader.now() }
        }
        task.withLockedValue { $0 = refresh }
    }

    var current: String { value.withLockedValue { $0 } }

    func stop() { task.withLockedValue { $0?.cancel() } }

    static func now() -> String {
        var seconds = time(nil)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = [CChar](repeating: 0, count: 64)
        let count = strftime(&text, text.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: text.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
