package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// templates are the databases NewDatabaseFrom built in this test process,
// by key.
var templates = struct {
	sync.Mutex
	byKey map[string]*template
}{byKey: map[string]*template{}}

type template struct {
	once sync.Once
	name string
	err  error
}

// NewDatabaseFrom is NewDatabase holding what build puts in a database:
// the first call with a key builds a template database, every call clones
// it. A seeded source costs a clone (tens of milliseconds) instead of its
// seeding (a second or more under the race detector), for every test that
// needs one. build must give the same database for the same key.
//
// The templates outlive the tests that asked for them: the package's
// TestMain must call DropTemplates.
func NewDatabaseFrom(t testing.TB, key string, build func(ctx context.Context, conn *pgx.Conn) error) string {
	t.Helper()
	templates.Lock()
	tpl, ok := templates.byKey[key]
	if !ok {
		tpl = &template{}
		templates.byKey[key] = tpl
	}
	templates.Unlock()
	tpl.once.Do(func() { tpl.name, tpl.err = buildTemplate(key, build) })
	if tpl.err != nil {
		t.Fatalf("pgtest: template %q: %v", key, tpl.err)
	}
	return newDatabase(t, " TEMPLATE "+tpl.name)
}

func buildTemplate(key string, build func(ctx context.Context, conn *pgx.Conn) error) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return "", fmt.Errorf("the tests need a PostgreSQL server (set NIGHTSHIFT_TEST_DATABASE_URL, or run `make test`, which starts one): %w", err)
	}
	defer admin.Close(ctx)
	var buf [6]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", err
	}
	name := "nstpl_" + hex.EncodeToString(buf[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	u, err := url.Parse(ServerURL())
	if err != nil {
		return name, err
	}
	u.Path = "/" + name
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return name, err
	}
	err = build(ctx, conn)
	_ = conn.Close(ctx)
	if err != nil {
		return name, fmt.Errorf("build %s: %w", key, err)
	}
	// A clone needs its template free of connections: none may come.
	_, err = admin.Exec(ctx, "ALTER DATABASE "+name+" WITH ALLOW_CONNECTIONS false")
	return name, err
}

// DropTemplates drops the databases NewDatabaseFrom built; TestMain calls
// it after the tests.
func DropTemplates() error {
	templates.Lock()
	defer templates.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var first error
	for key, tpl := range templates.byKey {
		if tpl.name == "" {
			continue
		}
		admin, err := pgx.Connect(ctx, ServerURL())
		if err == nil {
			_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+tpl.name+" WITH (FORCE)")
			_ = admin.Close(ctx)
		}
		if err != nil && first == nil {
			first = fmt.Errorf("pgtest: drop template %q (%s): %w", key, tpl.name, err)
		}
		delete(templates.byKey, key)
	}
	return first
}
