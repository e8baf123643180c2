// Package notify delivers a run's terminal notification: to Slack or
// Microsoft Teams incoming webhooks, to a generic JSON webhook (the
// versioned pipeline.Notification), and to the log.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// post sends a JSON body and treats any non-2xx answer as a failure.
func post(ctx context.Context, client *http.Client, endpoint string, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(data))
	if err != nil {
		// A parse error quotes the URL, and the URL holds the secret.
		return errors.New("webhook request: the webhook URL cannot be used; check its setting")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		// The URL holds the webhook's secret: say where, not what.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("post to %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post to %s: HTTP %d", req.URL.Host, resp.StatusCode)
	}
	return nil
}

// details renders the entities and the error as plain lines.
func details(n pipeline.Notification) string {
	var b strings.Builder
	if n.Status == pipeline.StatusOverdue {
		// An alert about a schedule, not a run: no entities, no trigger.
		fmt.Fprintf(&b, "%s\nNext: %s", n.Error, n.NextAction)
		return b.String()
	}
	for _, e := range n.Entities {
		fmt.Fprintf(&b, "• %s: %s, %d rows read", e.Entity, e.Status, e.Rows)
		if e.Quarantined > 0 {
			fmt.Fprintf(&b, ", %d quarantined", e.Quarantined)
		}
		fmt.Fprintf(&b, ", %d attempt(s), %.1fs", e.Attempts, e.Seconds)
		if e.FailedStep != "" {
			fmt.Fprintf(&b, " (failed at %s)", e.FailedStep)
		}
		b.WriteString("\n")
	}
	if lines := additions(n); len(lines) > 0 {
		b.WriteString("In the sources, not in the contracts:\n")
		for _, l := range lines {
			fmt.Fprintf(&b, "• %s\n", l)
		}
	}
	if n.Changed != "" {
		fmt.Fprintf(&b, "%s\n", n.Changed)
	}
	fmt.Fprintf(&b, "Trigger: %s; started by %s", n.Trigger, n.StartedBy)
	if n.Reason != "" {
		fmt.Fprintf(&b, ", reason: %s", n.Reason)
	}
	b.WriteString("\n")
	if len(n.SourceVersions) > 0 {
		b.WriteString("Source schema versions:")
		for _, s := range slices.Sorted(maps.Keys(n.SourceVersions)) {
			fmt.Fprintf(&b, " %s %s", s, n.SourceVersions[s])
		}
		b.WriteString("\n")
	}
	if n.Error != "" {
		fmt.Fprintf(&b, "Error: %s\n", firstLines(n.Error, 12))
	}
	fmt.Fprintf(&b, "Next: %s", n.NextAction)
	return b.String()
}

// additionLines caps the sentences a chat message gives the additions: a
// source that gained many tables' worth of columns is one look at
// `nightshift runs show`, not a wall of text.
const additionLines = 10

// additions tells the notification's additions in at most additionLines
// sentences, each listing at most pipeline.NoticeListCap items.
func additions(n pipeline.Notification) []string {
	lines := n.Additions.Lines(pipeline.NoticeListCap)
	if len(lines) > additionLines {
		more := len(lines) - additionLines + 1
		lines = append(lines[:additionLines-1], fmt.Sprintf("and %d more: `nightshift runs show %d` lists them all", more, n.RunID))
	}
	return lines
}

// quarantined lists the entities that set rows aside, with how many.
func quarantined(n pipeline.Notification) string {
	var parts []string
	for _, e := range n.Entities {
		if e.Quarantined > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", e.Entity, e.Quarantined))
		}
	}
	return strings.Join(parts, ", ")
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}

// Webhook posts the versioned pipeline.Notification JSON.
type Webhook struct {
	URL    string
	Client *http.Client
}

func (w *Webhook) Name() string { return "webhook" }

func (w *Webhook) Notify(ctx context.Context, n pipeline.Notification) error {
	return post(ctx, client(w.Client), w.URL, n)
}

// Slack posts to a Slack incoming webhook.
type Slack struct {
	URL    string
	Client *http.Client
}

func (s *Slack) Name() string { return "slack" }

func (s *Slack) Notify(ctx context.Context, n pipeline.Notification) error {
	return post(ctx, client(s.Client), s.URL, map[string]any{
		"text": "*" + n.Title() + "*\n" + details(n),
	})
}

// Teams posts an Adaptive Card to a Microsoft Teams incoming webhook
// (a Workflows "post to a channel when a webhook request is received").
type Teams struct {
	URL    string
	Client *http.Client
}

func (t *Teams) Name() string { return "teams" }

func (t *Teams) Notify(ctx context.Context, n pipeline.Notification) error {
	card := map[string]any{
		"type":    "AdaptiveCard",
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"version": "1.4",
		"body": []map[string]any{
			{"type": "TextBlock", "text": n.Title(), "weight": "Bolder", "wrap": true},
			{"type": "TextBlock", "text": details(n), "wrap": true},
		},
	}
	return post(ctx, client(t.Client), t.URL, map[string]any{
		"type": "message",
		"attachments": []map[string]any{{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content":     card,
		}},
	})
}

// Log writes the notification as one structured log line.
type Log struct{ Logger *slog.Logger }

func (l *Log) Name() string { return "log" }

func (l *Log) Notify(ctx context.Context, n pipeline.Notification) error {
	level := slog.LevelInfo
	if n.Status != pipeline.StatusSucceeded {
		level = slog.LevelError
	}
	attrs := []any{"run", n.RunID, "status", n.Status, "error", n.Error, "next_action", n.NextAction}
	if q := quarantined(n); q != "" {
		attrs = append(attrs, "quarantined", q)
	}
	if lines := additions(n); len(lines) > 0 {
		attrs = append(attrs, "additions", strings.Join(lines, "; "))
	}
	l.Logger.Log(ctx, level, n.Title(), attrs...)
	return nil
}

func client(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return http.DefaultClient
}
