package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
)

// With ca_file the connection is TLS and verifies the server's certificate
// and name against that CA; a server signed by another CA is refused.
func TestCAFileConnectsOverVerifiedTLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cluster := pgtest.NewCluster(t)
	ca := cluster.EnableTLS(t)

	for _, url := range []string{
		strings.Replace(cluster.URL(), "?sslmode=disable", "", 1),
		"host=localhost port=" + strings.Split(strings.Split(cluster.URL(), ":")[2], "/")[0] + " user=postgres dbname=postgres",
	} {
		cfg, err := Load(writeFile(t, "environment: test\n"), []string{"NIGHTSHIFT_WAREHOUSE_URL=" + url, "NIGHTSHIFT_WAREHOUSE_CA_FILE=" + ca})
		require.NoError(t, err, url)
		pool, err := cfg.Warehouse.Open(ctx, "warehouse.url", false, 2)
		require.NoError(t, err, url)
		var ssl bool
		require.NoError(t, pool.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl))
		pool.Close()
		require.True(t, ssl, "%s: the connection is TLS", url)
	}

	// Another CA did not sign the server's certificate: refused.
	other := pgtest.NewCluster(t).EnableTLS(t)
	cfg, err := Load(writeFile(t, "environment: test\n"), []string{
		"NIGHTSHIFT_WAREHOUSE_URL=" + strings.Replace(cluster.URL(), "?sslmode=disable", "", 1), "NIGHTSHIFT_WAREHOUSE_CA_FILE=" + other})
	require.NoError(t, err)
	_, err = cfg.Warehouse.Open(ctx, "warehouse.url", false, 2)
	require.ErrorContains(t, err, "certificate")

	// A CA file with a mode that would not verify is a configuration error.
	_, err = Load(writeFile(t, "environment: test\n"), []string{"NIGHTSHIFT_WAREHOUSE_URL=" + cluster.URL(), "NIGHTSHIFT_WAREHOUSE_CA_FILE=" + ca})
	require.ErrorContains(t, err, "warehouse.ca_file (NIGHTSHIFT_WAREHOUSE_CA_FILE): is set, but the connection string says sslmode=disable")
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	_, err = Load(writeFile(t, "environment: test\n"), []string{"NIGHTSHIFT_WAREHOUSE_URL=postgres://u@h/db", "NIGHTSHIFT_WAREHOUSE_CA_FILE=" + notPEM})
	require.ErrorContains(t, err, "holds no PEM certificate")
}
