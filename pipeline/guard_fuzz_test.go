package pipeline_test

import (
	"strings"
	"testing"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// FuzzGuard: in production, no manual or retried run starts without a
// reason, and no backfill or restore without the environment confirmed;
// outside production, a backfill or restore still needs a reason.
func FuzzGuard(f *testing.F) {
	f.Add("production", true, "backfill", "manual", "fix", "production")
	f.Add("production", true, "restore", "retry", "fix", "staging")
	f.Add("prod", true, "full", "manual", " ", "")
	f.Add("staging", false, "restore", "restore", "", "")
	f.Add("staging", false, "full", "schedule", "", "")
	f.Fuzz(func(t *testing.T, env string, production bool, kind, trigger, reason, confirm string) {
		spec := pipeline.Spec{Kind: pipeline.Kind(kind)}
		err := pipeline.Guard{Env: env, IsProduction: production}.Admit(pipeline.Trigger(trigger), spec, reason, confirm)
		if pipeline.Trigger(trigger) == pipeline.TriggerSchedule {
			if err != nil {
				t.Fatalf("a scheduled run is not the guard's business: %v", err)
			}
			return
		}
		noReason := strings.TrimSpace(reason) == ""
		switch {
		case production && noReason && err == nil:
			t.Fatal("a production run started without a reason")
		case production && spec.Destructive() && confirm != env && err == nil:
			t.Fatal("a destructive production run started without the environment confirmed")
		case spec.Destructive() && noReason && err == nil:
			t.Fatal("a backfill or restore started without a reason")
		case !production && !spec.Destructive() && err != nil:
			t.Fatalf("an ordinary run outside production was refused: %v", err)
		}
	})
}
