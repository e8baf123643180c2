// Package reconcile proves that what landed in a target is what was read
// from the source: the same number of rows and the same content checksum,
// computed by the same SQL on both sides (schemas.Contract.ChecksumSQL).
package reconcile

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Checksum summarises a set of rows independently of their order.
type Checksum struct {
	Rows int64 `json:"rows"`
	// Sum is the decimal sum of a 64-bit hash of every row.
	Sum string `json:"sum"`
}

func (c Checksum) String() string { return fmt.Sprintf("%d rows, sum %s", c.Rows, c.Sum) }

// Querier is satisfied by pgx connections, pools and transactions.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Compute runs a checksum query (schemas.Contract.ChecksumSQL).
func Compute(ctx context.Context, q Querier, sql string, args ...any) (Checksum, error) {
	var c Checksum
	if err := q.QueryRow(ctx, sql, args...).Scan(&c.Rows, &c.Sum); err != nil {
		return Checksum{}, fmt.Errorf("checksum: %w", err)
	}
	return c, nil
}

// MismatchError says that a target does not hold what the source held.
type MismatchError struct {
	What           string
	Source, Target Checksum
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s does not match the source: source has %s, target has %s", e.What, e.Source, e.Target)
}

// Compare returns a *MismatchError when the target differs from the source.
func Compare(what string, source, target Checksum) error {
	if source != target {
		return &MismatchError{What: what, Source: source, Target: target}
	}
	return nil
}
