import OffboardingKafka

enum Version {
    /// This build's version; `--version` prints it with the librdkafka it runs on.
    static let product = "0.5.0"
    static var description: String { "psa-offboarder \(product) (librdkafka \(RDKafkaVersion.string))" }
}
