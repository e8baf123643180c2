package pipeline_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

func TestLossRefusalIsPermanentAndNamesWhatWasLost(t *testing.T) {
	t.Parallel()
	err := pipeline.RefuseLoss([]pipeline.LossFinding{{
		Entity: "trainees", Published: 1000, Staged: 800, Deleted: 200, Fraction: 0.2, Threshold: 0.05,
		SampleKeys: []string{"3", "7"}, BackInTime: []string{"greatest id 990 is lower than the published 1000"}, Tripped: true,
	}})
	require.True(t, pipeline.IsRefused(err))
	require.Equal(t, pipeline.Permanent, pipeline.Classify(err))
	var le *pipeline.LossError
	require.True(t, errors.As(err, &le))
	require.Equal(t, "loss detected, nothing published: trainees: 1000 rows published, 800 staged, 200 deleted (20.0%, threshold 5.0%), "+
		"missing keys e.g. 3, 7; went back in time: greatest id 990 is lower than the published 1000; "+
		"if the change is real, run again with --accept-loss trainees --reason TEXT", err.Error())
}

func TestAcceptingALossIsGuarded(t *testing.T) {
	t.Parallel()
	spec := pipeline.Spec{Kind: pipeline.KindFull, AcceptLoss: []string{"trainees"}}
	staging := pipeline.Guard{Env: "staging"}
	require.ErrorIs(t, staging.Admit(pipeline.TriggerManual, spec, "", ""), pipeline.ErrReasonRequired)
	require.NoError(t, staging.Admit(pipeline.TriggerManual, spec, "duplicates removed", ""))
	prod := pipeline.Guard{Env: "production", IsProduction: true}
	var ce *pipeline.ConfirmationError
	require.ErrorAs(t, prod.Admit(pipeline.TriggerManual, spec, "duplicates removed", ""), &ce)
	require.NoError(t, prod.Admit(pipeline.TriggerManual, spec, "duplicates removed", "production"))
}
