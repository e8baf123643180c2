package config

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/internal/redact"
)

// connectTimeout bounds the first connection, so that an unreachable
// database is reported in seconds, not after the OS's TCP timeout.
const connectTimeout = 10 * time.Second

// Open connects a pool to the database and proves the connection works.
// setting names the database in errors (sources.register.url). Source
// pools are read-only at the session level too, as a second lock on the
// door: nightshift never writes to a source.
//
// conns sizes the pool (0 keeps pgxpool's default): a run holds connections
// for its whole life (the run lock, a snapshot per source) on top of one per
// entity in flight, and a pool too small would make them wait on each other.
func (d Database) Open(ctx context.Context, setting string, readOnly bool, conns int) (*pgxpool.Pool, error) {
	connString := d.URL
	if d.CAFile != "" {
		connString = withCAFile(connString, d.CAFile)
	}
	pc, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, &Error{Setting: setting, Problem: "cannot be parsed: " + redact.String(err.Error(), d.Password)}
	}
	if d.Password != "" {
		pc.ConnConfig.Password = d.Password
	}
	pc.ConnConfig.ConnectTimeout = connectTimeout
	if conns > 0 {
		pc.MaxConns = int32(min(conns, math.MaxInt32)) //nolint:gosec // bounded on the line itself
	}
	pc.ConnConfig.RuntimeParams["application_name"] = "nightshift"
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"
	if readOnly {
		pc.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, &Error{Setting: setting, Problem: redact.String(err.Error(), d.Password)}
	}
	pingCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, &UnreachableError{Setting: setting, Problem: fmt.Sprintf("cannot connect: %s", redact.String(err.Error(), d.Password)), Err: err}
	}
	return pool, nil
}

// UnreachableError is a database that is configured but did not answer: an
// outage, not a mistake in the configuration, so a run that meets it is a
// failed run that must be reported, not a usage error.
type UnreachableError struct {
	Setting string
	Problem string
	Err     error
}

func (e *UnreachableError) Error() string { return e.Setting + ": " + e.Problem }
func (e *UnreachableError) Unwrap() error { return e.Err }
