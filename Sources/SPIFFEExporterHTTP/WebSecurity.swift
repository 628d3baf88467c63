import Foundation
import Hummingbird
import HummingbirdCore
import Logging

/// The running form of a ``WebConfiguration``: basic auth, response headers and the TLS source
/// (certificate files or the exporter's own SVID). Built once at startup, which loads the TLS
/// files so a bad file fails the start rather than the first scrape.
public final class WebSecurity: Sendable {
    public let configuration: WebConfiguration
    let authenticator: BasicAuthenticator?
    let tls: (any TLSHandlerFactory)?

    /// - Parameters:
    ///   - spiffeIdentities: the exporter's SVIDs by source; required when `spiffe_tls_config` is set.
    ///   - reloadCheckInterval: how often, at most, new connections check the TLS files for changes.
    ///   - clock: validation time of client SVIDs.
    public init(
        configuration: WebConfiguration,
        logger: Logger,
        spiffeIdentities: SPIFFEIdentityLookup? = nil,
        reloadCheckInterval: Duration = .seconds(5),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) throws(WebConfigurationError) {
        self.configuration = configuration
        authenticator =
            configuration.basicAuthUsers.isEmpty ? nil : BasicAuthenticator(users: configuration.basicAuthUsers)
        if let tlsServer = configuration.tlsServer {
            tls = try FileTLSSource(configuration: tlsServer, checkInterval: reloadCheckInterval, logger: logger)
        } else if let spiffe = configuration.spiffeTLS {
            guard let spiffeIdentities else {
                throw WebConfigurationError(
                    code: .conflict, message: "spiffe_tls_config is set but this command has no SPIFFE identity source")
            }
            tls = SPIFFETLSSource(configuration: spiffe, lookup: spiffeIdentities, logger: logger, clock: clock)
        } else {
            tls = nil
        }
        for warning in configuration.warnings {
            logger.warning("web config: \(warning)")
        }
        let mode = configuration.tlsServer != nil ? "files" : configuration.spiffeTLS != nil ? "spiffe" : "disabled"
        let clientAuth =
            configuration.tlsServer?.clientAuthType.rawValue
            ?? (configuration.spiffeTLS != nil ? "SPIFFE" : "NoClientCert")
        logger.info(
            "web configuration loaded",
            metadata: [
                "tls": "\(mode)", "basic_auth_users": "\(configuration.basicAuthUsers.count)",
                "client_auth": "\(clientAuth)",
            ])
    }

    /// Loads `--web.config.file` and builds its runtime form.
    public convenience init(
        file: String,
        logger: Logger,
        spiffeIdentities: SPIFFEIdentityLookup? = nil,
        reloadCheckInterval: Duration = .seconds(5)
    ) throws(WebConfigurationError) {
        try self.init(
            configuration: try WebConfiguration.load(path: file), logger: logger, spiffeIdentities: spiffeIdentities,
            reloadCheckInterval: reloadCheckInterval)
    }

    /// `https` when connections are served over TLS.
    public var scheme: String { tls == nil ? "http" : "https" }

    /// Adds the response headers and basic auth in front of every route added after this call.
    func install<Context: RequestContext>(on router: Router<Context>) {
        if !configuration.httpServer.headers.isEmpty {
            router.add(middleware: ResponseHeadersMiddleware<Context>(configuration.httpServer.headers))
        }
        if let authenticator {
            router.add(middleware: BasicAuthMiddleware<Context>(authenticator: authenticator))
        }
    }

    /// HTTP/1.1, wrapped in TLS when configured.
    func serverBuilder() -> HTTPServerBuilder {
        guard let tls else { return .http1() }
        return HTTPServerBuilder { responder in
            ReloadingTLSChannel(base: HTTP1Channel(responder: responder), tls: tls)
        }
    }
}
