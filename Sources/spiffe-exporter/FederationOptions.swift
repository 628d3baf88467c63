import ArgumentParser
import SPIFFEExporterConfig

/// `--collector.federation.*`: federation bundle endpoints, fetched and compared with the other
/// copies of their trust domain's bundle.
struct FederationOptions: ParsableArguments {
    @Option(
        name: .customLong("collector.federation.endpoint"),
        help: ArgumentHelp(
            """
            A federation bundle endpoint, as NAME=TRUST_DOMAIN=URL[,profile=https_web|https_spiffe]\
            [,endpoint_spiffe_id=ID][,ca_file=PATH]: the trust domain's SPIFFE bundle is fetched at its refresh \
            hint and compared with every other copy (spiffe_federation_bundle_*, spiffe_trust_bundle_*). \
            https_web (default): Web PKI, or only ca_file; https_spiffe: the server's SVID must carry \
            endpoint_spiffe_id and chain to the bundle held for its trust domain. NAME is the source label. Repeatable.
            """,
            valueName: "name=trust_domain=url[,option=value...]"))
    var endpoints: [String] = []

    @Option(
        name: .customLong("collector.federation.interval"),
        help: ArgumentHelp(
            "Time between fetches of each endpoint, replacing the served spiffe_refresh_hint; 30s to 1h. (default: the hint, bounded to 30s..1h; 5m without one)",
            valueName: "duration"))
    var interval: String?

    var settings: CommandLineSettings.Federation {
        CommandLineSettings.Federation(endpoints: endpoints, interval: interval)
    }
}
