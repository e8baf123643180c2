package loadbigquery

import (
	"errors"
	"net/http"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// reasonClass is what each BigQuery error reason means for a retry
// (https://cloud.google.com/bigquery/docs/error-messages).
var reasonClass = map[string]pipeline.Class{
	"rateLimitExceeded": pipeline.Transient,
	"backendError":      pipeline.Transient,
	"internalError":     pipeline.Transient,
	"jobBackendError":   pipeline.Transient,
	"jobInternalError":  pipeline.Transient,
	"timeout":           pipeline.Transient,
	"invalid":           pipeline.Permanent,
	"invalidQuery":      pipeline.Permanent,
	"notFound":          pipeline.Permanent,
	"accessDenied":      pipeline.Permanent,
	"duplicate":         pipeline.Permanent,
	"billingNotEnabled": pipeline.Permanent,
	// The daily quota does not come back within a run.
	"quotaExceeded":     pipeline.Permanent,
	"resourcesExceeded": pipeline.Permanent,
}

// classify marks a BigQuery error transient or permanent, from its reasons
// and HTTP status, never its message. Errors that are not BigQuery's are
// returned unchanged, for the runner's own classification.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var reasons []string
	status := 0
	var gerr *googleapi.Error
	var jerr *bigquery.Error
	switch {
	case errors.As(err, &gerr):
		status = gerr.Code
		for _, e := range gerr.Errors {
			reasons = append(reasons, e.Reason)
		}
	case errors.As(err, &jerr):
		reasons = append(reasons, jerr.Reason)
	default:
		return err
	}
	for _, r := range reasons {
		switch reasonClass[r] {
		case pipeline.Transient:
			return pipeline.MarkTransient(err)
		case pipeline.Permanent:
			return pipeline.MarkPermanent(err)
		}
	}
	switch {
	case status >= 500, status == http.StatusTooManyRequests, status == http.StatusRequestTimeout:
		return pipeline.MarkTransient(err)
	case status >= 400:
		return pipeline.MarkPermanent(err)
	}
	return err
}
