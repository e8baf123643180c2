package pipeline

import (
	"errors"
	"fmt"
	"strings"
)

// Guard keeps people from doing in production what they meant for
// staging (seed 004: a full sync started on production by mistake). Every
// manual operation in production must say why; destructive ones there must
// also name the environment they are meant for.
type Guard struct {
	Env string
	// IsProduction is the configuration's one answer to "is this
	// production?" (config.Config.Production), so that no command treats
	// `prod` more lightly than `production`.
	IsProduction bool
}

// Production reports whether the environment is production.
func (g Guard) Production() bool { return g.IsProduction }

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

// Admit applies the guard to a run that a person asked for: in production
// every manual run needs a reason and a destructive one the confirmation;
// elsewhere only backfills and restores need a reason. Scheduled runs are
// not asked.
func (g Guard) Admit(trigger Trigger, spec Spec, reason, confirm string) error {
	if trigger == TriggerSchedule {
		return nil
	}
	if !g.Production() && !spec.Destructive() {
		return nil
	}
	return g.Check(spec.Operation(), reason, confirm, spec.Destructive())
}
