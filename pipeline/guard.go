package pipeline

import (
	"errors"
	"fmt"
	"strings"
)

// Guard keeps people from doing in production what they meant for
// staging (seed 004: a full sync started on production by mistake). Every
// manual operation must say why; destructive ones in production must also
// name the environment they are meant for.
type Guard struct {
	Env string
}

// Production reports whether the environment is production.
func (g Guard) Production() bool {
	return strings.EqualFold(g.Env, "production") || strings.EqualFold(g.Env, "prod")
}

// ErrReasonRequired is a manual operation without --reason.
var ErrReasonRequired = errors.New("--reason is required: say why, it is recorded in the ledger and the notification")

// ConfirmationError is a destructive operation in production without the
// matching --confirm.
type ConfirmationError struct {
	Operation, Env string
}

func (e *ConfirmationError) Error() string {
	return fmt.Sprintf("%s changes %s: repeat the command with --confirm %s if that is what you mean", e.Operation, e.Env, e.Env)
}

// Check lets an operation through, or says what is missing. destructive
// operations (restore, a backfill) need confirm to equal the environment
// in production.
func (g Guard) Check(operation, reason, confirm string, destructive bool) error {
	if strings.TrimSpace(reason) == "" {
		return ErrReasonRequired
	}
	if destructive && g.Production() && confirm != g.Env {
		return &ConfirmationError{Operation: operation, Env: g.Env}
	}
	return nil
}
