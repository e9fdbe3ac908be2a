import Foundation
import Telemetry
import Testing

@Suite("telemetry requests, router and JSON")
struct TelemetryCommandTests {
    @Test("a line: path, key=value arguments, filter takes the rest")
    func requestParsing() throws {
        let request = try #require(TelemetryRequest(line: "  /capture/start port=0 snaplen=128 filter=tcp and port 7 \r"))
        #expect(request.path == ["capture", "start"])
        #expect(request.arguments == ["port": "0", "snaplen": "128", "filter": "tcp and port 7"])
        #expect(try request.integer("snaplen") == 128)
        #expect(try request.integer("count") == nil)
        #expect(TelemetryRequest(line: "ports") == nil)
        #expect(TelemetryRequest(line: "/")?.path == [])
        let change = try #require(TelemetryRequest(line: "/routes/change change=route add 10.2.0.0/24 via 10.1.0.1 dev 0"))
        #expect(change.arguments == ["change": "route add 10.2.0.0/24 via 10.1.0.1 dev 0"])
        let bad = try #require(TelemetryRequest(line: "/x count=-3"))
        #expect(throws: TelemetryFailure.self) { try bad.integer("count") }
    }

    @Test("the router: the list, numbers in paths, unknown commands and failures as error replies")
    func router() throws {
        let router = TelemetryRouter()
        router.add("/ports/#/stats", help: "stats") { request throws(TelemetryFailure) in
            guard request.path[1] != "9" else { throw TelemetryFailure("no port 9") }
            return ["port": .string(request.path[1])]
        }
        #expect(router.reply(to: "/ports/2/stats").serialized == #"{"port":"2"}"#)
        #expect(router.reply(to: "/ports/9/stats").serialized == #"{"error":"no port 9"}"#)
        #expect(router.reply(to: "/ports/x/stats").serialized.contains("unknown command /ports/x/stats"))
        #expect(router.reply(to: "/ports/-1/stats").serialized.contains("unknown command"))
        #expect(router.reply(to: "hello").serialized.contains("commands start with '/'"))
        let list = try parse(router.reply(to: "/").serialized) as! [String: Any]
        #expect((list["commands"] as! [[String: String]]).first?["command"] == "/ports/#/stats")
    }

    @Test("JSON text: escapes, numbers, nesting, order kept; Foundation reads it back")
    func serialization() throws {
        let value: JSONValue = ["a\"b": "line\nnext\t\u{1}", "n": .number(UInt64.max), "i": -3, "d": .double(1.5),
                                "nan": .double(.nan), "list": [true, .null, ["x": 1]]]
        let text = value.serialized
        #expect(text.hasPrefix(#"{"a\"b":"line\nnext\t\u0001","n":18446744073709551615"#))
        let back = try parse(text) as! [String: Any]
        #expect(back["a\"b"] as? String == "line\nnext\t\u{1}")
        #expect(back["i"] as? Int == -3)
        #expect(back["nan"] is NSNull)
    }

    @Test("names: valid ones pass, path tricks are refused")
    func names() {
        #expect(TelemetryDirectory.validationError(name: "dp-echo-12") == nil)
        #expect(TelemetryDirectory.validationError(name: "..") != nil)
        #expect(TelemetryDirectory.validationError(name: "a/b") != nil)
        #expect(TelemetryDirectory.validationError(name: "") != nil)
        #expect(TelemetryDirectory.defaultName(processName: "x").hasPrefix("x-"))
    }

    func parse(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }
}
