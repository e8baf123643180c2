// Package web serves the run history as HTML pages: the recent runs, one
// run with a timeline of its attempts, and how fresh each entity's data is.
// It reads the ledger and nothing else, answers GET (and HEAD) only, and
// needs no JavaScript and no asset from anywhere else.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
)

//go:embed templates/*.html templates/style.css
var files embed.FS

// Handler serves the pages over a ledger.
type Handler struct {
	ledger *pipeline.Ledger
	// Limit is how many runs the list shows.
	Limit int
	// Now is the clock the ages are measured with.
	Now func() time.Time
	// Log receives the errors a page could not be made for.
	Log *slog.Logger

	mux   *http.ServeMux
	pages map[string]*template.Template
}

// New returns the pages over ledger.
func New(ledger *pipeline.Ledger) *Handler {
	h := &Handler{ledger: ledger, Limit: 50, Now: time.Now, Log: slog.Default(), mux: http.NewServeMux(), pages: parse()}
	h.mux.HandleFunc("GET /{$}", h.runs)
	h.mux.HandleFunc("GET /runs/{id}", h.run)
	h.mux.Handle("GET /runs", http.RedirectHandler("/", http.StatusSeeOther))
	h.mux.HandleFunc("GET /entities", h.entities)
	return h
}

// ServeHTTP answers GET and HEAD; any other method is refused with 405,
// whatever the path: the pages never change anything.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed: these pages are read-only", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.mux.ServeHTTP(w, r)
}

func parse() map[string]*template.Template {
	css, err := files.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	funcs := template.FuncMap{
		"css":     func() template.CSS { return template.CSS(css) }, //nolint:gosec // our own embedded file
		"took":    took,
		"when":    when,
		"clock":   clock,
		"age":     age,
		"percent": func(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) },
		"deref":   func(n *int64) int64 { return *n },
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"runs", "run", "entities", "error"} {
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

// page is what every page's layout needs.
type page struct {
	Title string
	Nav   string
	Now   time.Time
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, data); err != nil {
		h.Log.Error("history page", "page", name, "err", err)
		http.Error(w, "500 the page could not be made", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	if err != nil {
		h.Log.Error("history page", "path", r.URL.Path, "err", err)
	}
	h.render(w, status, "error", struct {
		page
		Status  int
		Message string
	}{page{Title: http.StatusText(status), Now: h.Now()}, status, msg})
}

// runRow is one run of the list.
type runRow struct {
	pipeline.RunSummary
	Scope string
	Next  string
}

func (h *Handler) runs(w http.ResponseWriter, r *http.Request) {
	list, err := h.ledger.Recent(r.Context(), h.Limit)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The ledger could not be read.", err)
		return
	}
	rows := make([]runRow, len(list))
	for i, s := range list {
		rows[i] = runRow{RunSummary: s, Scope: s.Scope(len(schemas.All()))}
		if needsAction(s.Status) {
			rows[i].Next = s.NextAction()
		}
	}
	h.render(w, http.StatusOK, "runs", struct {
		page
		Runs  []runRow
		Limit int
	}{page{Title: "Runs", Nav: "runs", Now: h.Now()}, rows, h.Limit})
}

// needsAction is a run whose end someone has to act on.
func needsAction(status string) bool {
	switch pipeline.Status(status) {
	case pipeline.StatusFailed, pipeline.StatusAborted, "abandoned":
		return true
	}
	return false
}

func (h *Handler) run(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		h.fail(w, r, http.StatusNotFound, "There is no run "+strconv.Quote(r.PathValue("id"))+": run ids are positive numbers.", nil)
		return
	}
	ctx := r.Context()
	s, err := h.ledger.Summary(ctx, id)
	if errors.Is(err, pipeline.ErrNoSuchRun) {
		h.fail(w, r, http.StatusNotFound, fmt.Sprintf("There is no run %d in the ledger.", id), nil)
		return
	}
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The ledger could not be read.", err)
		return
	}
	steps, attempts, err := h.details(ctx, id)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The ledger could not be read.", err)
		return
	}
	errs := s.Errors(steps)
	h.render(w, http.StatusOK, "run", struct {
		page
		Run      pipeline.RunSummary
		Scope    string
		Steps    []pipeline.StepSummary
		Timeline timeline
		Errors   []pipeline.StepError
		Next     string
		Action   bool
	}{page{Title: fmt.Sprintf("Run %d", id), Nav: "runs", Now: h.Now()}, s, s.Scope(len(schemas.All())), steps,
		newTimeline(s, attempts, h.Now()), errs, s.NextAction(), needsAction(s.Status)})
}

func (h *Handler) details(ctx context.Context, id int64) ([]pipeline.StepSummary, []pipeline.Attempt, error) {
	steps, err := h.ledger.Steps(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	attempts, err := h.ledger.Attempts(ctx, id)
	return steps, attempts, err
}

// entityRow is one entity's freshness.
type entityRow struct {
	Entity, Source, SourceVersion string
	Current                       *pipeline.Freshness
	Age                           time.Duration
}

func (h *Handler) entities(w http.ResponseWriter, r *http.Request) {
	list, err := h.ledger.Freshness(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The ledger could not be read.", err)
		return
	}
	now := h.Now()
	byEntity := map[string]*pipeline.Freshness{}
	for i := range list {
		byEntity[list[i].Entity] = &list[i]
	}
	var rows []entityRow
	row := func(entity, source string) {
		e := entityRow{Entity: entity, Source: source, Current: byEntity[entity]}
		if e.Current != nil {
			e.Age = now.Sub(e.Current.DataRunStartedAt)
			e.SourceVersion = sourceVersion(e.Current.SourceVersions, source)
		}
		rows = append(rows, e)
	}
	known := map[string]bool{}
	for _, c := range schemas.All() {
		known[c.Entity] = true
		row(c.Entity, c.Source)
	}
	// Tables of entities this binary does not know (retired ones) are
	// shown too: they are still in the warehouse.
	for _, f := range list {
		if !known[f.Entity] {
			row(f.Entity, "")
		}
	}
	h.render(w, http.StatusOK, "entities", struct {
		page
		Entities []entityRow
	}{page{Title: "Entities", Nav: "entities", Now: now}, rows})
}

// sourceVersion is the schema version of the entity's source, or every
// source's when the source is not known.
func sourceVersion(versions map[string]string, source string) string {
	if v, ok := versions[source]; ok {
		return v
	}
	if source != "" {
		return ""
	}
	var parts []string
	for name, v := range versions {
		parts = append(parts, name+" "+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
