import Foundation
import X509

/// What the `spiffe_certificate_*` families need from one globbed file: its first certificate (by
/// PEM convention the leaf; a chain file is reported by its leaf). PEM files may hold other block
/// types (keys are skipped); a file without any PEM block is tried as a single DER certificate.
public struct CertificateFileSummary: Sendable, Hashable {
    public var notBefore: Date
    public var notAfter: Date
    /// Certificates in the file.
    public var certificates: Int

    public init(notBefore: Date, notAfter: Date, certificates: Int) {
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.certificates = certificates
    }

    public static func parse(_ bytes: [UInt8]) -> Result<CertificateFileSummary, CertFileLoadReason> {
        var certificates: [Certificate] = []
        do {
            for block in try PEM.parse(bytes) where block.type == "CERTIFICATE" {
                certificates.append(try Certificate(derEncoded: block.der))
            }
        } catch PEM.ParseError.noBlocks {
            // DER (a `.der`/`.cer` file): one certificate, starting with a SEQUENCE tag.
            guard bytes.first == 0x30, let certificate = try? Certificate(derEncoded: bytes) else {
                return .failure(.parseError)
            }
            certificates = [certificate]
        } catch {
            return .failure(.parseError)
        }
        guard let first = certificates.first else { return .failure(.parseError) }
        return .success(
            CertificateFileSummary(
                notBefore: first.notValidBefore, notAfter: first.notValidAfter, certificates: certificates.count))
    }
}
