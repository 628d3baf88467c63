import ArgumentParser
import SPIFFEExporterConfig

/// `--collector.envoy.*`: Envoy's admin `GET /certs`, every certificate Envoy holds (listener and
/// upstream cluster TLS contexts), compared with the newest SVIDs the other sources know.
struct EnvoyOptions: ParsableArguments {
    @Option(
        name: .customLong("collector.envoy.admin"),
        help: ArgumentHelp(
            "An Envoy admin listener whose /certs is read, as NAME=http://HOST:PORT (NAME becomes the source label; plain HTTP, as Envoy's admin interface serves it). Repeatable; the config file's envoy.admins list does the same.",
            valueName: "name=http://host:port"))
    var admins: [String] = []

    @Option(name: .customLong("collector.envoy.interval"), help: "Time between reads of each Envoy's /certs. (default: 30s)")
    var interval: String?

    @Option(
        name: .customLong("collector.envoy.timeout"),
        help: "Deadline of one read of /certs (connect, request, answer); at most --collector.envoy.interval. (default: 5s)")
    var timeout: String?

    var settings: CommandLineSettings.Envoy {
        CommandLineSettings.Envoy(admins: admins, interval: interval, timeout: timeout)
    }
}
