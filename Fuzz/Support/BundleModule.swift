import Foundation

// Compiled into TollgateCore only by the fuzz build (`make fuzz`), which calls swiftc without
// SwiftPM: SwiftPM generates this accessor for the package's resources, here it points at the
// source tree's Resources folder.
extension Foundation.Bundle {
    static let module: Bundle = {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let resources = sources.appendingPathComponent("Sources/TollgateCore/Resources")
        return Bundle(path: resources.path) ?? Bundle.main
    }()
}
