package main

import (
	"context"
	"fmt"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/option"

	"github.com/dfe-nightshift/nightshift/internal/config"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

// openBigQuery builds the BigQuery sink from the configuration, or returns
// nil when it is off (no project).
func openBigQuery(ctx context.Context, cfg config.Config) (*loadbigquery.Target, func(), error) {
	b := cfg.BigQuery
	if !b.Enabled() {
		return nil, func() {}, nil
	}
	var opts []option.ClientOption
	if b.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(b.Endpoint))
	}
	if b.CredentialsFile != "" {
		opts = append(opts, option.WithAuthCredentialsFile(option.ServiceAccount, b.CredentialsFile))
	} else if b.Endpoint != "" {
		// An emulator or test fake takes no credentials.
		opts = append(opts, option.WithoutAuthentication())
	}
	client, err := bigquery.NewClient(ctx, b.Project, opts...)
	if err != nil {
		return nil, nil, withCode(exitUsage, &config.Error{Setting: "bigquery", Problem: fmt.Sprintf("cannot create the client: %v", err)})
	}
	client.Location = b.Location
	target := &loadbigquery.Target{
		Client: client, Dataset: b.Dataset, Location: b.Location,
		PII: loadbigquery.PIIPolicy(b.PII), Key: []byte(b.PIIKey),
		Labels: map[string]string{"managed-by": "nightshift", "environment": labelValue(cfg.Environment)},
	}
	return target, func() { _ = client.Close() }, nil
}

// labelValue makes a string a valid BigQuery label value: lower case
// letters, digits, dashes and underscores.
func labelValue(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			out = append(out, r)
		case r >= 'A' && r <= 'Z':
			out = append(out, r+('a'-'A'))
		default:
			out = append(out, '_')
		}
	}
	return string(out)
}
