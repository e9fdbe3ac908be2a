import ArgumentParser

/// Which directions --loss, --duplicate, --reorder and --delay-ms apply to.
enum ImpairedDirections: String, ExpressibleByArgument, CaseIterable {
    case both
    case aToB = "a-to-b"
    case bToA = "b-to-a"

    var impairsAToB: Bool { self != .bToA }
    var impairsBToA: Bool { self != .aToB }
}
