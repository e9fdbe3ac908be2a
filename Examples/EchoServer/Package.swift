// swift-tools-version: 6.2
// An application on Dataplane, as another package builds one: TCP and UDP
// echo on the userspace stack, over a Linux tap (README.md here).
import PackageDescription

// Dataplane by version, from its git repository: put your clone's or
// mirror's URL here (its last path component, "dataplane", is the package
// name the target below uses). DATAPLANE_URL overrides it, as
// Tools/test.d/60-package-by-version.sh does with a tagged copy of the checkout.
let dataplaneURL = Context.environment["DATAPLANE_URL"] ?? "https://github.com/your-org/dataplane.git"

let package = Package(
    name: "EchoServer",
    dependencies: [
        .package(url: dataplaneURL, from: "0.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .executableTarget(
            name: "EchoServer",
            dependencies: [
                .product(name: "Dataplane", package: "dataplane"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
    ]
)
