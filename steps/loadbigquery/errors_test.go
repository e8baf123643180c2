package loadbigquery

import (
	"errors"
	"fmt"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/googleapi"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

func TestClassifyBigQueryErrors(t *testing.T) {
	t.Parallel()
	api := func(code int, reason string) error {
		e := &googleapi.Error{Code: code, Message: "m"}
		if reason != "" {
			e.Errors = []googleapi.ErrorItem{{Reason: reason}}
		}
		return fmt.Errorf("load trainees: %w", e)
	}
	cases := []struct {
		name string
		err  error
		want pipeline.Class
	}{
		{"rate limit", api(403, "rateLimitExceeded"), pipeline.Transient},
		{"backend error", api(500, "backendError"), pipeline.Transient},
		{"internal error", api(500, "internalError"), pipeline.Transient},
		{"plain 503", api(503, ""), pipeline.Transient},
		{"429", api(429, ""), pipeline.Transient},
		{"invalid", api(400, "invalid"), pipeline.Permanent},
		{"not found", api(404, "notFound"), pipeline.Permanent},
		{"access denied", api(403, "accessDenied"), pipeline.Permanent},
		{"quota", api(403, "quotaExceeded"), pipeline.Permanent},
		{"plain 401", api(401, ""), pipeline.Permanent},
		{"job invalid", fmt.Errorf("job x: %w", &bigquery.Error{Reason: "invalid", Message: "bad column"}), pipeline.Permanent},
		{"job backend", fmt.Errorf("job x: %w", &bigquery.Error{Reason: "backendError"}), pipeline.Transient},
		{"job rate", fmt.Errorf("job x: %w", &bigquery.Error{Reason: "rateLimitExceeded"}), pipeline.Transient},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := classify(tc.err)
			require.Equal(t, tc.want, pipeline.Classify(got))
			require.ErrorIs(t, got, errors.Unwrap(tc.err), "the cause stays in the chain")
		})
	}
	other := errors.New("disk full")
	require.Same(t, other, classify(other), "errors that are not BigQuery's are left to the runner")
}
