package sql

import (
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	// The pgx/v5 driver registers the pgx5:// scheme.
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

// Warehouse holds the warehouse migrations, numbered up/down pairs applied
// by golang-migrate.
//
//go:embed warehouse/*.sql
var Warehouse embed.FS

// MigrationsTable is where golang-migrate records the warehouse's version.
// It lives in public, outside the nightshift schema the migrations create
// and drop.
const MigrationsTable = "nightshift_schema_migrations"

// Migrator applies the warehouse migrations to the database at dbURL
// (a postgres:// URL; password as a separate argument so that it never
// needs to be part of a string that could be printed).
func Migrator(dbURL, password string) (*migrate.Migrate, error) {
	u, err := url.Parse(dbURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("warehouse.url must be a postgres:// URL to run migrations")
	}
	u.Scheme = "pgx5"
	if password != "" {
		u.User = url.UserPassword(u.User.Username(), password)
	}
	q := u.Query()
	q.Set("x-migrations-table", MigrationsTable)
	u.RawQuery = q.Encode()

	src, err := iofs.New(Warehouse, "warehouse")
	if err != nil {
		return nil, fmt.Errorf("warehouse migrations: %w", err)
	}
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		// golang-migrate's errors can quote the URL; say what failed without it.
		return nil, fmt.Errorf("warehouse migrations: cannot open the warehouse database: %w", redact(err, password))
	}
	return m, nil
}

// LatestVersion is the version of the newest warehouse migration.
func LatestVersion() (uint, error) {
	src, err := iofs.New(Warehouse, "warehouse")
	if err != nil {
		return 0, err
	}
	defer src.Close()
	v, err := src.First()
	if err != nil {
		return 0, err
	}
	for {
		next, err := src.Next(v)
		if err != nil {
			return v, nil
		}
		v = next
	}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redact(err error, password string) error {
	if password == "" {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), password, "********"), err: err}
}
