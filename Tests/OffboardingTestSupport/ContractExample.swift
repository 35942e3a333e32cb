/// The configuration example of the contract (`../shared/contract.md`), for the tests that read it
/// as a file would be written and change one key of it at a time.
public enum ContractExample {
    /// The contract's example with the one key this version requires beside it: a signing key.
    public static let signed = text + """

        security:
          signing_keys: ["${OFFBOARDER_SIGNING_KEY}"]
        """

    /// The example in `../shared/contract.md`, as it is written there.
    public static let text = """
        kafka:
          bootstrap_servers: "127.0.0.1:9092"
          group_id: psa-offboarder
          topics:
            events: psa.company.status-changed     # input
            results: psa.offboarding.results       # output, one record per processed client
            dead_letter: psa.offboarding.dlq       # input records that can never be processed
          properties: {}                           # any librdkafka property, passed through (TLS, SASL, ...)
        psa:
          kind: connectwise                        # connectwise | autotask | halopsa
          base_url: "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"
          connectwise: {company_id: acme, public_key: "${CW_PUBLIC_KEY}", private_key: "${CW_PRIVATE_KEY}", client_id: "${CW_CLIENT_ID}"}
        criteria:
          offboarded_statuses: ["Inactive", "Offboarded"]
        defaults:            # per-request options fall back to these
          dry_run: false
          require_approval: false
          include_archived: false
        """
    public static let environment = [
        "CW_PUBLIC_KEY": "pub", "CW_PRIVATE_KEY": "priv", "CW_CLIENT_ID": "cid", "OFFBOARDER_SIGNING_KEY": "configuration-test-signing-key-0123456789",
    ]
}
