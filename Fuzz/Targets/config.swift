import TollgateCore
import TollgateWire

private let environment = ["KEY": "sk-test", "AWS_ID": "AKIDEXAMPLE", "AWS_SECRET": "secret", "EMPTY": ""]

/// Config parsing and provider resolution: either a `ConfigError` or a config whose providers
/// resolve (or are refused with a `ConfigError`); parsing is deterministic.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let config: Config
    do {
        config = try Config.parse(bytes)
    } catch {
        require(!error.description.isEmpty, "empty config error")
        let again = Result { () throws(ConfigError) in try Config.parse(bytes) }
        if case .failure(let second) = again {
            require(second.key == error.key && second.problem == error.problem, "parse is not deterministic")
        } else {
            require(false, "parse is not deterministic")
        }
        return 0
    }
    require(!config.ledgerPath.isEmpty, "empty ledger path accepted")
    for provider in config.providers {
        require(!provider.name.isEmpty && !provider.name.contains("/"), "bad provider name \(provider.name)")
        // `file:` secrets would read the machine's files (/dev/zero never ends): not resolved here.
        for field in ProviderCredentials.fieldNames {
            if let text = provider.raw[field]?.stringValue, text.hasPrefix("file:") { return 0 }
        }
    }
    guard let (providers, _) = try? WireRegistry.resolve(config, environment: environment) else { return 0 }
    require(providers.count == config.providers.count, "providers lost in resolution")
    for provider in providers {
        require(provider.baseURL.hasPrefix("http://") || provider.baseURL.hasPrefix("https://"),
                "base URL \(provider.baseURL)")
        require(!provider.baseURL.hasSuffix("/"), "base URL with a trailing slash")
    }
    return 0
}
