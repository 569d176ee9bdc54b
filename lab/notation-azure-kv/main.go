// Command notation-azure-kv is the acr-gate lab's stand-in for the Notation Azure Key Vault
// plugin (github.com/Azure/notation-azure-kv): same plugin name ("azure-kv"), same capability
// (SIGNATURE_GENERATOR.RAW), same plugin configs, but it signs with a local key file and never
// talks to Key Vault. It speaks the Notation plugin protocol, contract version 1.0: the command
// is argv[1], the request is JSON on stdin, the response JSON on stdout, and a failure is a JSON
// error on stderr with a non-zero exit.
//
// The key and certificate come from ACR_GATE_LAB_SIGNING_KEY (PEM private key; default
// /etc/acr-gate-lab/signing/key.pem) and ACR_GATE_LAB_SIGNING_CERT (the self-signed code signing
// certificate, DER or PEM; default /etc/acr-gate-lab/signing/cert.der).
//
// `notation-azure-kv --generate DIR [--key-type rsa-3072|ec-256] [--days N]` writes a fresh
// key.pem, cert.der, cert.pem and cert.b64 (base64 DER, as GATE_CERTIFICATE takes it) into DIR.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

const (
	pluginName      = "azure-kv"
	pluginVersion   = "0.1.0-acr-gate-lab"
	contractVersion = "1.0"
	capabilityRaw   = "SIGNATURE_GENERATOR.RAW"

	defaultKeyPath  = "/etc/acr-gate-lab/signing/key.pem"
	defaultCertPath = "/etc/acr-gate-lab/signing/cert.der"
	envKeyPath      = "ACR_GATE_LAB_SIGNING_KEY"
	envCertPath     = "ACR_GATE_LAB_SIGNING_CERT"
)

// --- protocol types (notation-plugin-framework-go v1.0.0, plugin package) -----------------------

type metadataResponse struct {
	Name                      string   `json:"name"`
	Description               string   `json:"description"`
	Version                   string   `json:"version"`
	URL                       string   `json:"url"`
	SupportedContractVersions []string `json:"supportedContractVersions"`
	Capabilities              []string `json:"capabilities"`
}

type describeKeyRequest struct {
	ContractVersion string            `json:"contractVersion"`
	KeyID           string            `json:"keyId"`
	PluginConfig    map[string]string `json:"pluginConfig,omitempty"`
}

type describeKeyResponse struct {
	KeyID   string `json:"keyId"`
	KeySpec string `json:"keySpec"`
}

type generateSignatureRequest struct {
	ContractVersion string            `json:"contractVersion"`
	KeyID           string            `json:"keyId"`
	KeySpec         string            `json:"keySpec"`
	HashAlgorithm   string            `json:"hashAlgorithm"`
	Payload         []byte            `json:"payload"`
	PluginConfig    map[string]string `json:"pluginConfig,omitempty"`
}

type generateSignatureResponse struct {
	KeyID            string   `json:"keyId"`
	Signature        []byte   `json:"signature"`
	SigningAlgorithm string   `json:"signingAlgorithm"`
	CertificateChain [][]byte `json:"certificateChain"`
}

type pluginError struct {
	Code    string `json:"errorCode"`
	Message string `json:"errorMessage,omitempty"`
}

func (e *pluginError) Error() string { return e.Code + ": " + e.Message }

func validationError(format string, a ...any) *pluginError {
	return &pluginError{Code: "VALIDATION_ERROR", Message: fmt.Sprintf(format, a...)}
}

func genericError(format string, a ...any) *pluginError {
	return &pluginError{Code: "ERROR", Message: fmt.Sprintf(format, a...)}
}

// --- main ---------------------------------------------------------------------------------------

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "usage: %s get-plugin-metadata|describe-key|generate-signature|version < request.json\n       %s --generate DIR [--key-type rsa-3072|ec-256] [--days N]\n", os.Args[0], os.Args[0])
		os.Exit(2)
	}
	if os.Args[1] == "--generate" {
		if err := generate(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "notation-azure-kv (acr-gate lab):", err)
			os.Exit(1)
		}
		return
	}
	resp, err := run(os.Args[1], os.Stdin)
	if err != nil {
		var pe *pluginError
		if !errors.As(err, &pe) {
			pe = genericError("%s", err)
		}
		out, _ := json.Marshal(pe)
		os.Stderr.Write(append(out, '\n'))
		os.Exit(1)
	}
	if s, ok := resp.(string); ok {
		fmt.Println(s)
		return
	}
	out, err := json.Marshal(resp)
	if err != nil {
		out, _ = json.Marshal(genericError("Failed to generate response. Error: %s", err))
		os.Stderr.Write(append(out, '\n'))
		os.Exit(1)
	}
	os.Stdout.Write(append(out, '\n'))
}

func run(command string, stdin io.Reader) (any, error) {
	switch command {
	case "get-plugin-metadata":
		return metadataResponse{
			Name: pluginName,
			Description: "acr-gate lab stand-in for the Notation Azure Key Vault plugin: signs with a local key file " +
				"(" + envKeyPath + ", " + envCertPath + "), never contacts Key Vault; not for production",
			Version:                   pluginVersion,
			URL:                       "https://acr-gate.local/lab/notation-azure-kv",
			SupportedContractVersions: []string{contractVersion},
			Capabilities:              []string{capabilityRaw},
		}, nil
	case "version":
		return pluginName + " - acr-gate lab stand-in for the Notation Azure Key Vault plugin\nVersion: " + pluginVersion, nil
	case "describe-key":
		var req describeKeyRequest
		if err := decode(stdin, &req); err != nil {
			return nil, err
		}
		if err := checkCommon(req.ContractVersion, req.KeyID, req.PluginConfig); err != nil {
			return nil, err
		}
		s, err := loadSigner()
		if err != nil {
			return nil, err
		}
		return describeKeyResponse{KeyID: req.KeyID, KeySpec: s.keySpec}, nil
	case "generate-signature":
		var req generateSignatureRequest
		if err := decode(stdin, &req); err != nil {
			return nil, err
		}
		if err := checkCommon(req.ContractVersion, req.KeyID, req.PluginConfig); err != nil {
			return nil, err
		}
		if len(req.Payload) == 0 {
			return nil, validationError("payload cannot be empty")
		}
		s, err := loadSigner()
		if err != nil {
			return nil, err
		}
		if req.KeySpec != s.keySpec {
			return nil, validationError("keySpec %q does not match the key's %q", req.KeySpec, s.keySpec)
		}
		if req.HashAlgorithm != s.hashName {
			return nil, validationError("hashAlgorithm %q does not match %q, the one for key spec %s", req.HashAlgorithm, s.hashName, s.keySpec)
		}
		sig, err := s.sign(req.Payload)
		if err != nil {
			return nil, genericError("signing failed: %s", err)
		}
		return generateSignatureResponse{
			KeyID:            req.KeyID,
			Signature:        sig,
			SigningAlgorithm: s.algorithm,
			CertificateChain: [][]byte{s.cert.Raw},
		}, nil
	default:
		return nil, validationError("%q is not a supported command", command)
	}
}

func decode(r io.Reader, v any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return genericError("reading the request: %s", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return validationError("Input is not a valid JSON")
	}
	return nil
}

// checkCommon checks what the real plugin would refuse too: the contract version, an empty key id,
// a certificate that is not self-signed (the only kind this stand-in has), an unknown credential type.
func checkCommon(version, keyID string, config map[string]string) error {
	if version == "" {
		return validationError("contractVersion cannot be empty")
	}
	if version != contractVersion {
		return &pluginError{Code: "UNSUPPORTED_CONTRACT_VERSION", Message: fmt.Sprintf("%q is not a supported notary plugin contract version", version)}
	}
	if keyID == "" {
		return validationError("keyId cannot be empty")
	}
	if v, err := strconv.ParseBool(config["self_signed"]); err != nil || !v {
		return validationError("the lab's signing certificate is self-signed: plugin config self_signed=true is required (got %q)", config["self_signed"])
	}
	if _, ok := config["ca_certs"]; ok {
		return validationError("ca_certs is not supported by the lab stand-in (self-signed certificate only)")
	}
	switch config["credential_type"] {
	case "", "default", "environment", "workloadid", "managedid", "azurecli":
	default:
		return validationError("unknown credential_type %q", config["credential_type"])
	}
	return nil
}

// --- signing ------------------------------------------------------------------------------------

type signer struct {
	key       crypto.Signer
	cert      *x509.Certificate
	keySpec   string // RSA-3072, EC-256, ...
	hashName  string // SHA-256, SHA-384, SHA-512
	hash      crypto.Hash
	algorithm string // RSASSA-PSS-SHA-384, ECDSA-SHA-256, ...
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func loadSigner() (*signer, error) {
	keyPath, certPath := envOr(envKeyPath, defaultKeyPath), envOr(envCertPath, defaultCertPath)
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, genericError("reading the signing key: %s", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, genericError("%s: %s", keyPath, err)
	}
	certData, err := os.ReadFile(certPath)
	if err != nil {
		return nil, genericError("reading the signing certificate: %s", err)
	}
	if b, _ := pem.Decode(certData); b != nil && b.Type == "CERTIFICATE" {
		certData = b.Bytes
	}
	cert, err := x509.ParseCertificate(certData)
	if err != nil {
		return nil, genericError("%s: %s", certPath, err)
	}
	type publicKey interface{ Equal(crypto.PublicKey) bool }
	if pk, ok := key.Public().(publicKey); !ok || !pk.Equal(cert.PublicKey) {
		return nil, genericError("the key in %s is not the one certified in %s", keyPath, certPath)
	}
	s := &signer{key: key, cert: cert}
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		s.keySpec = fmt.Sprintf("RSA-%d", bits)
		switch bits {
		case 2048:
			s.hash = crypto.SHA256
		case 3072:
			s.hash = crypto.SHA384
		case 4096:
			s.hash = crypto.SHA512
		default:
			return nil, genericError("unsupported RSA key size %d", bits)
		}
		s.algorithm = "RSASSA-PSS-" + hashName(s.hash)
	case *ecdsa.PublicKey:
		bits := k.Curve.Params().BitSize
		s.keySpec = fmt.Sprintf("EC-%d", bits)
		switch bits {
		case 256:
			s.hash = crypto.SHA256
		case 384:
			s.hash = crypto.SHA384
		case 521:
			s.hash = crypto.SHA512
		default:
			return nil, genericError("unsupported EC curve %s", k.Curve.Params().Name)
		}
		s.algorithm = "ECDSA-" + hashName(s.hash)
	default:
		return nil, genericError("unsupported key type %T", k)
	}
	s.hashName = hashName(s.hash)
	return s, nil
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA256:
		return "SHA-256"
	case crypto.SHA384:
		return "SHA-384"
	default:
		return "SHA-512"
	}
}

func parseKey(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	switch b.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported key type %T", k)
		}
		return s, nil
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(b.Bytes)
	}
	return nil, fmt.Errorf("unsupported PEM block %q", b.Type)
}

// sign returns the raw signature of payload as the plugin spec wants it: RSASSA-PSS with a salt
// as long as the hash, or ECDSA as the fixed-size big-endian R || S (not ASN.1).
func (s *signer) sign(payload []byte) ([]byte, error) {
	h := s.hash.New()
	h.Write(payload)
	digest := h.Sum(nil)
	switch k := s.key.(type) {
	case *rsa.PrivateKey:
		return rsa.SignPSS(rand.Reader, k, s.hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case *ecdsa.PrivateKey:
		r, sv, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			return nil, err
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		sv.FillBytes(out[size:])
		return out, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", s.key)
}

// --- key and certificate generation -------------------------------------------------------------

// generate writes a key and a self-signed code signing certificate shaped like the one Key Vault
// creates for notation: not a CA, key usage digitalSignature (critical), extended key usage
// codeSigning, the only extensions notation's strict verification looks at.
func generate(args []string) error {
	if len(args) < 1 {
		return errors.New("--generate needs a directory")
	}
	dir, keyType, days := args[0], "rsa-3072", 365
	for rest := args[1:]; len(rest) > 0; rest = rest[2:] {
		if len(rest) < 2 {
			return fmt.Errorf("%s needs a value", rest[0])
		}
		switch rest[0] {
		case "--key-type":
			keyType = rest[1]
		case "--days":
			n, err := strconv.Atoi(rest[1])
			if err != nil || n < 1 {
				return fmt.Errorf("--days %q", rest[1])
			}
			days = n
		default:
			return fmt.Errorf("unknown option %s", rest[0])
		}
	}
	var key crypto.Signer
	var err error
	switch keyType {
	case "rsa-3072":
		key, err = rsa.GenerateKey(rand.Reader, 3072)
	case "ec-256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return fmt.Errorf("--key-type %q: rsa-3072 or ec-256", keyType)
	}
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	name := pkix.Name{CommonName: "acr-gate lab signer", Organization: []string{"acr-gate lab"}}
	now := time.Now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               name,
		Issuer:                name,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(0, 0, days),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  false,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600},
		{"cert.der", der, 0o644},
		{"cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644},
		{"cert.b64", append([]byte(base64.StdEncoding.EncodeToString(der)), '\n'), 0o644},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %s/{key.pem,cert.der,cert.pem,cert.b64}: %s, valid until %s\n", dir, keyType, tmpl.NotAfter.Format(time.RFC3339))
	return nil
}
