package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline/web"
)

// chromium is Debian's chromium package; `make test` installs it.
const chromium = "/usr/bin/chromium"

// The pages in a real browser, on a laptop and on a phone: what a reader
// sees (the reasons as text, not markup), the timeline's bars drawn, no
// horizontal scrolling at phone width, and a screenshot of each.
func TestHistoryPagesInARealBrowser(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("this test needs Debian's chromium at %s (%v): install it with `apt-get install -y chromium`; `make test` does when it is missing", chromium, err)
	}
	h := newHistory(t)
	srv := httptest.NewServer(web.New(h.ledger))
	defer srv.Close()

	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	dir := t.TempDir()
	extra := os.Getenv("NIGHTSHIFT_SCREENSHOT_DIR") // to keep every screenshot
	shot := func(name string) string {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.Equal(t, "\x89PNG", string(png[:4]), "a PNG")
		path := filepath.Join(dir, name+".png")
		require.NoError(t, os.WriteFile(path, png, 0o600))
		t.Logf("screenshot %s: %s (%d bytes)", name, path, len(png))
		if extra != "" {
			require.NoError(t, os.WriteFile(filepath.Join(extra, "nightshift-history-"+name+".png"), png, 0o600))
		}
		return path
	}
	// load opens a page at a width and returns its text as rendered.
	load := func(path string, width int64, ready string) string {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx,
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(srv.URL+path),
			chromedp.WaitVisible(chromedp.CSS(ready)),
		), path)
		txt, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		require.NoError(t, err, path)
		return strings.Join(strings.Fields(txt), " ")
	}
	noHorizontalScroll := func(page string, width int) {
		t.Helper()
		scroll := eval[int](ctx, t, `document.documentElement.scrollWidth`)
		require.LessOrEqual(t, scroll, width, "%s scrolls sideways at %dpx", page, width)
	}

	// The runs list.
	txt := load("/", 1280, "table.runs")
	require.Contains(t, txt, failedReason, "the reason shown as the text it is")
	require.Contains(t, txt, okReason)
	require.Contains(t, txt, fmt.Sprintf("Next: Read the error above; fix its cause, then `nightshift retry %d`", h.failed))
	for _, s := range []string{"succeeded", "failed", "aborted", "trainees/extract"} {
		require.Contains(t, txt, s)
	}
	require.Zero(t, eval[int](ctx, t, `document.querySelectorAll('script').length`), "the reason's <script> is text, not an element")
	require.Equal(t, 3, eval[int](ctx, t, `document.querySelectorAll('tr.run').length`))
	shot("runs")
	load("/", 390, "table.runs")
	noHorizontalScroll("/", 390)
	shot("runs-phone")

	// A run: its timeline has one visible bar per attempt.
	txt = load(fmt.Sprintf("/runs/%d", h.ok), 1280, ".timeline")
	require.Contains(t, txt, fmt.Sprintf("Run %d succeeded", h.ok))
	require.Contains(t, txt, "Timeline")
	require.Contains(t, txt, snapshot)
	require.Contains(t, txt, "Nothing to do.")
	all, failed := h.attempts(t, h.ok)
	widths := eval[[]float64](ctx, t, `[...document.querySelectorAll('.timeline .bar')].map(b => b.getBoundingClientRect().width)`)
	require.Len(t, widths, all, "one bar per attempt")
	for _, w := range widths {
		require.Greater(t, w, 2.0, "every bar is visible")
	}
	require.Equal(t, failed, eval[int](ctx, t, `document.querySelectorAll('.timeline .bar.failed').length`))
	runShot := shot("run")
	load(fmt.Sprintf("/runs/%d", h.ok), 390, ".timeline")
	noHorizontalScroll("run page", 390)
	shot("run-phone")

	txt = load(fmt.Sprintf("/runs/%d", h.failed), 1280, ".timeline")
	require.Contains(t, txt, `table trainees has no column "trn" <varchar>`)
	require.Contains(t, txt, fmt.Sprintf("`nightshift retry %d`", h.failed))
	shot("run-failed")

	// Entities.
	txt = load("/entities", 1280, "table.entities")
	require.Contains(t, txt, fmt.Sprintf("trainees register run %d", h.ok))
	require.Contains(t, txt, "118 2 "+sourceSchema)
	require.Contains(t, txt, "never published")
	shot("entities")
	load("/entities", 390, "table.entities")
	noHorizontalScroll("/entities", 390)
	shot("entities-phone")

	// One copy where the engineer can look at it.
	png, err := os.ReadFile(runShot)
	require.NoError(t, err)
	keep := filepath.Join(os.TempDir(), "nightshift-history-screenshot.png")
	require.NoError(t, os.WriteFile(keep, png, 0o600))
	t.Logf("the run page: %s", keep)
}

// eval is a JavaScript expression's value in the page.
func eval[T any](ctx context.Context, t *testing.T, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	require.NoError(t, err, js)
	return v
}
