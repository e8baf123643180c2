package pipeline

import (
	"context"
	"errors"
	"net"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
)

// Class says whether retrying an error can help.
type Class string

const (
	// Transient errors come from the moment: a dropped connection, a
	// deadlock, a busy server. The step is retried.
	Transient Class = "transient"
	// Permanent errors will happen again: a missing column, a refused
	// permission, data a target will not take. The step fails at once.
	Permanent Class = "permanent"
)

// permanentError marks an error as not worth retrying, whatever its cause.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// MarkPermanent makes the runner fail a step at once with err. Steps use it
// where they detect a mistake themselves (a checksum mismatch, a schema
// refused by a target).
func MarkPermanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// transientError marks an error as worth retrying, whatever its type: an
// adapter that knows its errors (BigQuery's reasons) classifies them where
// they arise.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// MarkTransient makes the runner retry a step failing with err, up to its
// attempts.
func MarkTransient(err error) error {
	if err == nil {
		return nil
	}
	return &transientError{err: err}
}

// Classify decides once, from the error's type and codes (never its text),
// whether an error is transient or permanent. Unknown errors are treated as
// transient: retries are capped, so the worst case is a few wasted
// attempts, while a wrongly permanent error would fail a night's run.
func Classify(err error) Class {
	var pe *permanentError
	if errors.As(err, &pe) {
		return Permanent
	}
	var te *transientError
	if errors.As(err, &te) {
		return Transient
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return classifySQLState(pgErr.Code)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Transient
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return Transient
	}
	return Transient
}

func classifySQLState(code string) Class {
	switch code {
	case pgerrcode.SerializationFailure, pgerrcode.DeadlockDetected, pgerrcode.LockNotAvailable,
		pgerrcode.TooManyConnections, pgerrcode.AdminShutdown, pgerrcode.CrashShutdown,
		pgerrcode.CannotConnectNow, pgerrcode.QueryCanceled, pgerrcode.IdleInTransactionSessionTimeout:
		return Transient
	}
	switch {
	case pgerrcode.IsConnectionException(code),
		pgerrcode.IsInsufficientResources(code), // disk full, out of memory
		pgerrcode.IsOperatorIntervention(code),
		pgerrcode.IsSystemError(code): // I/O errors
		return Transient
	}
	return Permanent
}

// refusedError marks a run refused before any step ran.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

// Refuse marks a planning error as a refusal: the run is recorded as
// refused, not failed, because nothing was attempted.
func Refuse(err error) error { return &refusedError{err: err} }

// IsRefused reports whether err refused a run.
func IsRefused(err error) bool {
	var re *refusedError
	return errors.As(err, &re)
}
