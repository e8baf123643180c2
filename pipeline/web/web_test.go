package web_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline/web"
)

func get(t *testing.T, srv *httptest.Server, method, path string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	require.NoError(t, err)
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header, string(body)
}

// text is a page's text as a reader sees it: tags dropped, entities
// decoded, spaces collapsed.
func text(page string) string {
	page = regexp.MustCompile(`(?s)<style>.*?</style>`).ReplaceAllString(page, "")
	page = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(page, " ")
	return strings.Join(strings.Fields(html.UnescapeString(page)), " ")
}

func TestHistoryPagesShowRunsStepsAndEntities(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	srv := httptest.NewServer(web.New(h.ledger))
	defer srv.Close()

	// The runs list.
	code, hdr, body := get(t, srv, http.MethodGet, "/")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "text/html; charset=utf-8", hdr.Get("Content-Type"))
	require.Contains(t, body, `<meta name="viewport" content="width=device-width, initial-scale=1">`)
	require.NotContains(t, body, "<script", "no script, and the reason's markup is escaped")
	require.NotContains(t, body, "<b>bold</b>")
	require.Contains(t, body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; fix")
	for _, id := range []int64{h.ok, h.failed, h.aborted} {
		require.Contains(t, body, fmt.Sprintf(`<a href="/runs/%d">%d</a>`, id, id))
	}
	txt := text(body)
	require.Contains(t, txt, fmt.Sprintf("%d manual aborted", h.aborted))
	require.Contains(t, txt, fmt.Sprintf("%d manual failed", h.failed))
	require.Contains(t, txt, fmt.Sprintf("%d manual succeeded", h.ok))
	require.Contains(t, txt, okReason)
	require.Contains(t, txt, failedReason)
	require.Contains(t, txt, "trainees/extract", "the failed run's first failure")
	require.Contains(t, txt, fmt.Sprintf("Next: Read the error above; fix its cause, then `nightshift retry %d`", h.failed))
	require.Equal(t, 2, strings.Count(body, `<tr class="next `), "the failed and the aborted run say what to do next; the succeeded one not")
	require.Regexp(t, fmt.Sprintf(`(?s)id="run-%d".*?data-label="Published">148</td>\s*<td class="num" data-label="Quarantined">2</td>`, h.ok), body)

	// A run's page: the timeline has one bar per attempt, the failed
	// attempt drawn as failed.
	code, _, body = get(t, srv, http.MethodGet, fmt.Sprintf("/runs/%d", h.ok))
	require.Equal(t, http.StatusOK, code, body)
	all, failed := h.attempts(t, h.ok)
	require.Equal(t, 6, all, "trainees extract ×2, stage; schools extract, stage; publish")
	require.Equal(t, all, strings.Count(body, `<span class="bar `), "one bar per attempt")
	require.Equal(t, failed, strings.Count(body, `<span class="bar failed`))
	require.Equal(t, 1, failed)
	require.Equal(t, 5, strings.Count(body, `<div class="lane" role="row">`), "one lane per entity and step")
	require.Regexp(t, `style="left: [0-9.]+%; width: [0-9.]+%"`, body)
	txt = text(body)
	require.Contains(t, txt, fmt.Sprintf("Run %d succeeded", h.ok))
	require.Contains(t, txt, okReason)
	require.Contains(t, txt, "trainees extract succeeded 2 120 2", "the steps table: attempts, rows, quarantined")
	require.Contains(t, txt, snapshot)
	require.Contains(t, txt, "Rows 150 read; 2 quarantined")
	require.Contains(t, txt, "Next Nothing to do.")
	require.Contains(t, body, "connection failure", "the failed attempt's error is in its bar's title")

	code, _, body = get(t, srv, http.MethodGet, fmt.Sprintf("/runs/%d", h.failed))
	require.Equal(t, http.StatusOK, code, body)
	txt = text(body)
	require.Contains(t, txt, "not published: the warehouse was not changed")
	require.Equal(t, 1, strings.Count(txt, `table trainees has no column "trn" <varchar>`), "the error once in the errors list")
	require.Contains(t, body, `no column &#34;trn&#34; &lt;varchar&gt;`)
	require.Contains(t, txt, fmt.Sprintf("Read the error above; fix its cause, then `nightshift retry %d`", h.failed))
	require.Contains(t, body, `class="next-action urgent"`)
	require.Contains(t, txt, failedReason)

	code, _, body = get(t, srv, http.MethodGet, fmt.Sprintf("/runs/%d", h.aborted))
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `<span class="bar aborted`)
	all, _ = h.attempts(t, h.aborted)
	require.Equal(t, all, strings.Count(body, `<span class="bar `))

	// Entities: what the warehouse holds now.
	code, _, body = get(t, srv, http.MethodGet, "/entities")
	require.Equal(t, http.StatusOK, code, body)
	require.Regexp(t, fmt.Sprintf(`(?s)id="entity-trainees".*?run %d</a>.*?data-label="Rows">118</td>\s*<td class="num" data-label="Quarantined">2</td>\s*<td class="mono" data-label="Source schema">%s</td>`,
		h.ok, sourceSchema), body)
	require.Regexp(t, `(?s)id="entity-schools".*?data-label="Rows">30</td>\s*<td class="num" data-label="Quarantined">0</td>`, body)
	require.Regexp(t, `(?s)id="entity-teachers" class="never".*?never published`, body)
	require.Regexp(t, `data-label="Age">\d+s</td>`, body)

	// Unknown runs and pages.
	for _, path := range []string{"/runs/999", "/runs/abc", "/runs/0", "/nope", "/runs/1/x"} {
		code, _, body = get(t, srv, http.MethodGet, path)
		require.Equal(t, http.StatusNotFound, code, path)
		if strings.HasPrefix(path, "/runs/9") {
			require.Contains(t, body, "There is no run 999 in the ledger.")
		}
	}
	// Read-only.
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, path := range []string{"/", fmt.Sprintf("/runs/%d", h.ok), "/entities", "/nope"} {
			code, hdr, _ = get(t, srv, m, path)
			require.Equal(t, http.StatusMethodNotAllowed, code, "%s %s", m, path)
			require.Equal(t, "GET, HEAD", hdr.Get("Allow"))
		}
	}
	code, _, body = get(t, srv, http.MethodHead, "/")
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, body)
}

// The scheduler mounts the pages at / beside its own /healthz and
// /metrics, as cmd/nightshift/schedule.go does.
func TestHistoryPagesAlongsideOtherEndpoints(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("/", web.New(h.ledger))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, _, body := get(t, srv, http.MethodGet, "/healthz")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok\n", body)
	code, _, body = get(t, srv, http.MethodGet, "/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, fmt.Sprintf(`href="/runs/%d"`, h.failed))
	code, _, body = get(t, srv, http.MethodGet, fmt.Sprintf("/runs/%d", h.aborted))
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "aborted")
	code, _, _ = get(t, srv, http.MethodGet, "/metricz")
	require.Equal(t, http.StatusNotFound, code)
	code, _, _ = get(t, srv, http.MethodPost, "/entities")
	require.Equal(t, http.StatusMethodNotAllowed, code)
}
