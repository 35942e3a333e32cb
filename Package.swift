// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "psa-offboarder",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "psa-offboarder", targets: ["PSAOffboarderCLI"]),
        .executable(name: "psa-offboarder-bench", targets: ["OffboardingBenchmarks"]),
        .executable(name: "psa-offboarder-fuzz", targets: ["OffboardingFuzzRunner"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // OTLP over HTTP only: the gRPC exporter's dependencies would double the build.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // The one place that sees librdkafka's C API (Debian: librdkafka-dev).
        .systemLibrary(
            name: "Crdkafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"]), .brew(["librdkafka"])]
        ),
        // Domain: events, criteria, options, results, error codes, the PSA port and the offboarding run.
        .target(
            name: "OffboardingCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Kafka over librdkafka: consumer, producer, topic reader; every call into librdkafka is in its `RDKafka/` folder.
        .target(
            name: "OffboardingKafka",
            dependencies: [
                "Crdkafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // librdkafka's mock cluster, for tests, `demo` and `kafka-sandbox`; the service does not link it.
        .target(
            name: "OffboardingKafkaTesting",
            dependencies: [
                "OffboardingKafka",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // HTTP plumbing shared by the PSA adapters: retries on 429/5xx with Retry-After, query encoding, answers read into
        // the contract's errors, one pager, and one rule each for record ids and names from outside.
        .target(
            name: "PSAHTTP",
            dependencies: [
                "OffboardingCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        // ConnectWise PSA / Manage REST adapter.
        .target(
            name: "PSAConnectWise",
            dependencies: [
                "OffboardingCore",
                "PSAHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Autotask PSA REST adapter.
        .target(
            name: "PSAAutotask",
            dependencies: [
                "OffboardingCore",
                "PSAHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // HaloPSA REST adapter.
        .target(
            name: "PSAHalo",
            dependencies: [
                "OffboardingCore",
                "PSAHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Strict simulators of the PSA APIs, for tests, `demo` and `sandbox`.
        .target(
            name: "PSASimulators",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The HTTP side: offboarding and approval API, health probes, webhook ingress per PSA.
        .target(
            name: "OffboardingHTTPAPI",
            dependencies: [
                "OffboardingCore",
                "PSAHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Telling people: notices made from published records, rendered for Teams, Slack and a
        // Standard Webhooks receiver, and delivered at each channel's pace.
        .target(
            name: "OffboardingNotify",
            dependencies: [
                "OffboardingCore",
                "PSAHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // Composition: configuration file, the consumer pipeline, the runtime.
        .target(
            name: "OffboardingService",
            dependencies: [
                "OffboardingCore",
                "OffboardingHTTPAPI",
                "OffboardingKafka",
                "OffboardingNotify",
                "PSAAutotask",
                "PSAConnectWise",
                "PSAHalo",
                "PSAHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // What only `demo`, `sandbox` and tests use: each PSA's simulator paired with its
        // configuration, the demo, and a reader that collects a topic. The service never links it.
        .target(
            name: "OffboardingSandbox",
            dependencies: [
                "OffboardingCore",
                "OffboardingKafka",
                "OffboardingKafkaTesting",
                "OffboardingService",
                "PSAAutotask",
                "PSAConnectWise",
                "PSAHalo",
                "PSAHTTP",
                "PSASimulators",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "PSAOffboarderCLI",
            dependencies: [
                "OffboardingKafka",
                "OffboardingKafkaTesting",
                "OffboardingSandbox",
                "OffboardingService",
                "PSASimulators",
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "OffboardingBenchmarks",
            dependencies: [
                "OffboardingCore",
                "OffboardingKafka",
                "OffboardingKafkaTesting",
                "OffboardingSandbox",
                "OffboardingService",
                "PSAAutotask",
                "PSAConnectWise",
                "PSAHalo",
                "PSAHTTP",
                "PSASimulators",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Fuzzing (scripts/fuzz): every parser of outside input as a function of bytes, and the
        // libFuzzer runner; the regression suite replays the corpus through the same targets.
        .target(name: "CFuzzerDriver", path: "Fuzz/CFuzzerDriver"),
        .target(
            name: "OffboardingFuzzTargets",
            dependencies: [
                "OffboardingCore", "OffboardingHTTPAPI", "OffboardingService", "PSAAutotask", "PSAConnectWise", "PSAHalo", "PSAHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Fuzz/Targets"
        ),
        .executableTarget(
            name: "OffboardingFuzzRunner",
            dependencies: ["CFuzzerDriver", "OffboardingFuzzTargets"],
            path: "Fuzz/Runner"
        ),
        .target(
            name: "OffboardingTestSupport",
            dependencies: [
                "OffboardingKafkaTesting", "OffboardingSandbox", "OffboardingService", "PSAAutotask", "PSAConnectWise", "PSAHalo", "PSAHTTP", "PSASimulators",
                // The running service's HTTP API, called and checked against its document.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Tests/OffboardingTestSupport"
        ),
        .testTarget(
            name: "OffboardingCoreTests",
            dependencies: ["OffboardingCore", "OffboardingTestSupport"]
        ),
        .testTarget(
            name: "OffboardingKafkaTests",
            dependencies: ["OffboardingKafka", "OffboardingKafkaTesting", "OffboardingTestSupport"]
        ),
        .testTarget(
            name: "PSAConnectWiseTests",
            dependencies: ["PSAConnectWise", "PSASimulators", "OffboardingTestSupport"]
        ),
        .testTarget(
            name: "PSAHTTPTests",
            dependencies: ["PSAHTTP", "PSASimulators", "OffboardingTestSupport"]
        ),
        .testTarget(
            name: "PSAAutotaskTests",
            dependencies: ["PSAAutotask", "PSAHTTP", "PSASimulators", "OffboardingTestSupport"]
        ),
        .testTarget(
            name: "PSAHaloTests",
            dependencies: ["PSAHalo", "PSAHTTP", "PSASimulators", "OffboardingTestSupport"]
        ),
        .testTarget(
            name: "OffboardingNotifyTests",
            dependencies: [
                "OffboardingCore", "OffboardingNotify", "OffboardingSandbox", "OffboardingTestSupport", "PSASimulators",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "OffboardingHTTPAPITests",
            dependencies: [
                "OffboardingCore", "OffboardingHTTPAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The service's pieces and its pipeline in this process: configuration, concurrency pieces,
        // offsets, routes, schemas, parsers, and scenarios of the running pipeline.
        .testTarget(
            name: "OffboardingServiceTests",
            dependencies: [
                "OffboardingFuzzTargets", "OffboardingHTTPAPI", "OffboardingKafka", "OffboardingKafkaTesting", "OffboardingSandbox", "OffboardingService",
                "OffboardingTestSupport", "PSAAutotask", "PSAConnectWise", "PSAHalo", "PSAHTTP", "PSASimulators",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // `psa-offboarder` started as a process: consume, run, restore, sweep, demo, sandbox.
        .testTarget(
            name: "OffboardingProcessTests",
            // The CLI is a dependency so that `swift test` builds the binary these tests start.
            dependencies: [
                "OffboardingCore", "OffboardingKafka", "OffboardingKafkaTesting", "OffboardingSandbox", "OffboardingService", "OffboardingTestSupport", "PSAOffboarderCLI",
                "PSASimulators",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // One contract, run against each PSA's adapter and its simulator.
        .testTarget(
            name: "PSAContractTests",
            dependencies: [
                "OffboardingCore", "OffboardingService", "OffboardingTestSupport", "PSASimulators",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}
