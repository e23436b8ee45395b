// swift-tools-version:6.0
import PackageDescription

/// Settings shared by every Swift target.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "tollgate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tollgate", targets: ["tollgate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        // System libraries (Debian: libcurl4-openssl-dev, libsqlite3-dev, libsystemd-dev).
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CSystemd", path: "Sources/CSystemd", pkgConfig: "libsystemd",
                       providers: [.apt(["libsystemd-dev"])]),
        .target(name: "CShims", dependencies: ["CCurl", "CSQLite", "CSystemd"],
                cSettings: [.define("_GNU_SOURCE")]),

        .target(name: "TollgateCore", swiftSettings: swiftSettings),
        .target(name: "TollgateWire", dependencies: ["TollgateCore"], swiftSettings: swiftSettings),
        .target(name: "TollgateHTTP", dependencies: ["TollgateCore", "CShims"], swiftSettings: swiftSettings),
        .target(name: "TollgateUpstream", dependencies: ["TollgateCore", "CCurl", "CShims"],
                swiftSettings: swiftSettings),
        .target(name: "TollgateLedger", dependencies: ["TollgateCore", "CSQLite", "CShims"],
                swiftSettings: swiftSettings),
        .target(name: "TollgateSystemd", dependencies: ["TollgateCore", "CSystemd", "CShims",
                                                        .product(name: "Logging", package: "swift-log")],
                swiftSettings: swiftSettings),
        .target(name: "TollgateGateway",
                dependencies: ["TollgateCore", "TollgateWire", "TollgateHTTP", "TollgateUpstream",
                               "TollgateLedger", "TollgateSystemd",
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: swiftSettings),
        .executableTarget(name: "tollgate",
                          dependencies: ["TollgateGateway",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")],
                          swiftSettings: swiftSettings),

        .target(name: "TollgateTestSupport", dependencies: ["TollgateCore"], path: "Tests/TollgateTestSupport",
                swiftSettings: swiftSettings),
        .testTarget(name: "TollgateCoreTests", dependencies: ["TollgateCore", "TollgateTestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "TollgateWireTests", dependencies: ["TollgateWire", "TollgateCore"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "TollgateHTTPTests", dependencies: ["TollgateHTTP", "TollgateCore", "TollgateTestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "TollgateGatewayTests",
                    dependencies: ["TollgateGateway", "TollgateUpstream", "TollgateLedger", "TollgateHTTP", "TollgateCore",
                                   "TollgateWire", "TollgateTestSupport",
                                   .product(name: "Logging", package: "swift-log")],
                    swiftSettings: swiftSettings),
        .testTarget(name: "TollgateLedgerTests", dependencies: ["TollgateLedger", "TollgateCore"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "TollgateUpstreamTests", dependencies: ["TollgateUpstream", "TollgateHTTP", "TollgateCore", "TollgateTestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "TollgateSystemdTests",
                    dependencies: ["TollgateSystemd", "TollgateCore", .product(name: "Logging", package: "swift-log")],
                    swiftSettings: swiftSettings),
        // Runs the built `tollgate` binary as systemd would (NOTIFY_SOCKET, LISTEN_FDS, signals).
        .testTarget(name: "TollgateServiceTests",
                    dependencies: ["TollgateTestSupport", "TollgateCore", "TollgateSystemd", "TollgateLedger",
                                   .product(name: "Logging", package: "swift-log")],
                    swiftSettings: swiftSettings),
    ],
    swiftLanguageModes: [.v6]
)
