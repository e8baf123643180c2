package pgtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnableTLS makes the cluster serve TLS with a certificate for localhost
// and 127.0.0.1, signed by a CA of the test's own, and returns the path of
// that CA's certificate: what a client verifying the server
// (sslmode=verify-full) is given.
func (c *Cluster) EnableTLS(t testing.TB) (caFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("pgtest: tls: %v", err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pgtest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("pgtest: tls: %v", err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("pgtest: tls: %v", err)
	}
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("pgtest: tls: %v", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatalf("pgtest: tls: %v", err)
	}
	write := func(name, kind string, der []byte) string {
		path := filepath.Join(c.dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatalf("pgtest: tls: %v", err)
		}
		// The server refuses a key file anyone but its owner can read.
		if c.owner != nil {
			uid, _ := strconv.Atoi(c.owner.Uid)
			gid, _ := strconv.Atoi(c.owner.Gid)
			if err := os.Chown(path, uid, gid); err != nil {
				t.Fatalf("pgtest: tls: %v", err)
			}
		}
		return path
	}
	caFile = write("ca.crt", "CERTIFICATE", caDER)
	cert := write("server.crt", "CERTIFICATE", srvDER)
	key := write("server.key", "EC PRIVATE KEY", keyDER)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatalf("pgtest: tls: %v", err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		"ALTER SYSTEM SET ssl_cert_file = " + quoteLiteral(cert),
		"ALTER SYSTEM SET ssl_key_file = " + quoteLiteral(key),
		"ALTER SYSTEM SET ssl = on",
		"SELECT pg_reload_conf()",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("pgtest: tls: %s: %v", stmt, err)
		}
	}
	return caFile
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
