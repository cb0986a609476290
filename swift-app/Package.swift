// swift-tools-version:5.10
// Codex Router's macOS menu bar app. The Rust core comes in as an xcframework
// (Frameworks/codex_routerFFI.xcframework, built by scripts/build-xcframework) and the
// generated uniffi bindings (Sources/CodexRouter, committed; checked against the FFI by
// scripts/test). 5.10 (Xcode 15.3) at least: the bindings use `nonisolated(unsafe)`.
// `./make-app` wraps the built executable in "Codex Router.app" (Resources/Info.plist).
import PackageDescription

let package = Package(
    name: "CodexRouter",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "CodexRouterApp", targets: ["CodexRouterApp"]),
        .library(name: "CodexRouter", targets: ["CodexRouter"]),
    ],
    targets: [
        // The Rust static library with the C header and modulemap of the bindings.
        .binaryTarget(
            name: "codex_routerFFI",
            path: "Frameworks/codex_routerFFI.xcframework"
        ),
        // The generated Swift bindings (scripts/bindings swift Sources/CodexRouter).
        .target(
            name: "CodexRouter",
            dependencies: ["codex_routerFFI"],
            path: "Sources/CodexRouter",
            exclude: ["codex_routerFFI.h", "codex_routerFFI.modulemap"],
            linkerSettings: [
                // What the Rust standard library and the core's dependencies link against
                // (file watching via FSEvents, time zones).
                .linkedFramework("CoreFoundation"),
                .linkedFramework("CoreServices"),
                .linkedFramework("Security"),
                .linkedFramework("SystemConfiguration"),
                .linkedLibrary("iconv"),
            ]
        ),
        // The app: presentation only.
        .executableTarget(
            name: "CodexRouterApp",
            dependencies: ["CodexRouter"],
            path: "Sources/CodexRouterApp"
        ),
    ]
)
